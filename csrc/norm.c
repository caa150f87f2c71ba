/* Sum-of-squares kernels (gradient norms): norm_impl.h stamped for float and double (portable
 * baseline), and the public entry points, which pick this stamp or norm_avx2.c's at run time. */
#include <stdlib.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "norm_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define SUMSQ_PARAMS(real) \
    (int64_t n, const real *const *x, const int64_t *sizes, double scale, double *acc)
PYWD_DISPATCH(pywd_sumsq_f32, SUMSQ_PARAMS(float), (n, x, sizes, scale, acc))
PYWD_DISPATCH(pywd_sumsq_f64, SUMSQ_PARAMS(double), (n, x, sizes, scale, acc))
PYWD_DISPATCH(pywd_sumsq_16,
              (int dtype, int64_t n, const uint16_t *const *x, const int64_t *sizes,
               double scale, double *acc),
              (dtype, n, x, sizes, scale, acc))
