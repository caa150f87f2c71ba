/* RMSprop kernels: rmsprop_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or rmsprop_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "rmsprop_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define RMSPROP_PARAMS(real)                                                             \
    (const pywd_rmsprop_hyper *h, int64_t n, real *const *params, const real *const *grads, \
     real *const *square_avgs, real *const *momentum_buffers, real *const *grad_avgs,       \
     const int64_t *sizes)
#define RMSPROP_ARGS (h, n, params, grads, square_avgs, momentum_buffers, grad_avgs, sizes)
PYWD_DISPATCH(pywd_rmsprop_f32, RMSPROP_PARAMS(float), RMSPROP_ARGS)
PYWD_DISPATCH(pywd_rmsprop_f64, RMSPROP_PARAMS(double), RMSPROP_ARGS)
