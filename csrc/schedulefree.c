/* Schedule-free kernels: schedulefree_impl.h stamped for float and double (portable
 * baseline), and the public entry points, which pick this stamp or schedulefree_avx2.c's at
 * run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "schedulefree_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define SCHEDULEFREE_PARAMS(real)                                                          \
    (const pywd_schedulefree_hyper *h, int64_t n, real *const *params,                      \
     const real *const *grads, real *const *zs, real *const *exp_avg_sqs,                   \
     const int64_t *sizes)
#define SCHEDULEFREE_ARGS (h, n, params, grads, zs, exp_avg_sqs, sizes)
PYWD_DISPATCH(pywd_schedulefree_f32, SCHEDULEFREE_PARAMS(float), SCHEDULEFREE_ARGS)
PYWD_DISPATCH(pywd_schedulefree_f64, SCHEDULEFREE_PARAMS(double), SCHEDULEFREE_ARGS)
