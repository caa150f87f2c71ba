/* SGD family kernels: sgd_impl.h stamped for float and double (portable baseline), and the
 * public entry points, which pick this stamp or sgd_avx2.c's at run time. */
#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "sgd_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define SGD_PARAMS(real)                                                                   \
    (const pywd_sgd_hyper *h, int64_t n, real *const *params, const real *const *grads, \
     real *const *bufs, const int64_t *sizes)
PYWD_DISPATCH(pywd_sgd_f32, SGD_PARAMS(float), (h, n, params, grads, bufs, sizes))
PYWD_DISPATCH(pywd_sgd_f64, SGD_PARAMS(double), (h, n, params, grads, bufs, sizes))
