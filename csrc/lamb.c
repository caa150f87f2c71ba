/* LAMB kernels: lamb_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or lamb_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "lamb_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define LAMB_PARAMS(real)                                                                \
    (const pywd_lamb_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, real *const *exp_avg_sqs, const int64_t *sizes)
#define LAMB_ARGS (h, n, params, grads, exp_avgs, exp_avg_sqs, sizes)
PYWD_DISPATCH(pywd_lamb_f32, LAMB_PARAMS(float), LAMB_ARGS)
PYWD_DISPATCH(pywd_lamb_f64, LAMB_PARAMS(double), LAMB_ARGS)
