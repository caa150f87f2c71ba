/* Stamps a kernel body (KERNEL_BODY: kernels.h) for float and double with suffixes
 * f32_<ISA_SUFFIX> and f64_<ISA_SUFFIX>. Included by each ISA unit (unit_*.c). */
#include <math.h>

#define real float
#define REAL_IS_DOUBLE 0
#define REAL_FABS fabsf
#define REAL_COPYSIGN copysignf
#define REAL_SQRT sqrtf
#define PYWD_NEXT_DOWN(x) nextafterf((x), -HUGE_VALF)
#define PYWD_SUFFIX PYWD_CONCAT(f32, ISA_SUFFIX)
#include KERNEL_BODY
#undef real
#undef REAL_IS_DOUBLE
#undef REAL_FABS
#undef REAL_COPYSIGN
#undef REAL_SQRT
#undef PYWD_NEXT_DOWN
#undef PYWD_SUFFIX

#define real double
#define REAL_IS_DOUBLE 1
#define REAL_FABS fabs
#define REAL_COPYSIGN copysign
#define REAL_SQRT sqrt
#define PYWD_NEXT_DOWN(x) nextafter((x), -HUGE_VAL)
#define PYWD_SUFFIX PYWD_CONCAT(f64, ISA_SUFFIX)
#include KERNEL_BODY
#undef real
#undef REAL_IS_DOUBLE
#undef REAL_FABS
#undef REAL_COPYSIGN
#undef REAL_SQRT
#undef PYWD_NEXT_DOWN
#undef PYWD_SUFFIX
