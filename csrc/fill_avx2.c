/* fill_impl.h stamped for AVX2 (chosen at run time by fill.c; empty off x86 and gcc/clang). */
#include <math.h>

#include "common.h"
#include "pywd.h"

#if PYWD_X86_DISPATCH
#include <immintrin.h> /* before the target switch: the intrinsics carry their own */
PYWD_AVX2_BEGIN
#include "fastmath_f32.h"
#include "fastmath_f64.h"
#include "normal_cdf.h"
#include "philox.h"
#include "philox_avx2.h"
#define PYWD_PHILOX_X8 1
#define KERNEL_BODY "fill_impl.h"
#define ISA_SUFFIX avx2
#include "isa_stamp.h"
PYWD_AVX2_END
#endif
