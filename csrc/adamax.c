/* Adamax kernels: adamax_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or adamax_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "adamax_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define ADAMAX_PARAMS(real)                                                                \
    (const pywd_adamax_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, real *const *exp_infs, const int64_t *sizes)
#define ADAMAX_ARGS (h, n, params, grads, exp_avgs, exp_infs, sizes)
PYWD_DISPATCH(pywd_adamax_f32, ADAMAX_PARAMS(float), ADAMAX_ARGS)
PYWD_DISPATCH(pywd_adamax_f64, ADAMAX_PARAMS(double), ADAMAX_ARGS)
