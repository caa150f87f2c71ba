/* LARS kernels: lars_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or lars_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "lars_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define LARS_PARAMS(real)                                                                \
    (const pywd_lars_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *bufs, const int64_t *sizes)
#define LARS_ARGS (h, n, params, grads, bufs, sizes)
PYWD_DISPATCH(pywd_lars_f32, LARS_PARAMS(float), LARS_ARGS)
PYWD_DISPATCH(pywd_lars_f64, LARS_PARAMS(double), LARS_ARGS)
