/* Lion kernels: lion_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or lion_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "lion_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define LION_PARAMS(real)                                                                \
    (const pywd_lion_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, const int64_t *sizes)
#define LION_ARGS (h, n, params, grads, exp_avgs, sizes)
PYWD_DISPATCH(pywd_lion_f32, LION_PARAMS(float), LION_ARGS)
PYWD_DISPATCH(pywd_lion_f64, LION_PARAMS(double), LION_ARGS)
