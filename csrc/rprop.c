/* Rprop kernels: rprop_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or rprop_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "rprop_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define RPROP_PARAMS(real)                                                                \
    (const pywd_rprop_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *prevs, real *const *step_sizes, const int64_t *sizes)
#define RPROP_ARGS (h, n, params, grads, prevs, step_sizes, sizes)
PYWD_DISPATCH(pywd_rprop_f32, RPROP_PARAMS(float), RPROP_ARGS)
PYWD_DISPATCH(pywd_rprop_f64, RPROP_PARAMS(double), RPROP_ARGS)
