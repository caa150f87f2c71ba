/* RAdam kernels: radam_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or radam_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "radam_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define RADAM_PARAMS(real)                                                                \
    (const pywd_radam_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, real *const *exp_avg_sqs, const int64_t *sizes)
#define RADAM_ARGS (h, n, params, grads, exp_avgs, exp_avg_sqs, sizes)
PYWD_DISPATCH(pywd_radam_f32, RADAM_PARAMS(float), RADAM_ARGS)
PYWD_DISPATCH(pywd_radam_f64, RADAM_PARAMS(double), RADAM_ARGS)
