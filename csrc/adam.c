/* Adam / AdamW / AMSGrad kernels: adam_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or adam_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "adam_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define ADAM_PARAMS(real)                                                               \
    (const pywd_adam_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, real *const *exp_avg_sqs, real *const *max_exp_avg_sqs,         \
     const int64_t *sizes)
#define ADAM_ARGS (h, n, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, sizes)
PYWD_DISPATCH(pywd_adam_f32, ADAM_PARAMS(float), ADAM_ARGS)
PYWD_DISPATCH(pywd_adam_f64, ADAM_PARAMS(double), ADAM_ARGS)
