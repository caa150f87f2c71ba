/* NAdam kernels: nadam_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or nadam_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "nadam_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define NADAM_PARAMS(real)                                                                \
    (const pywd_nadam_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *exp_avgs, real *const *exp_avg_sqs, const int64_t *sizes)
#define NADAM_ARGS (h, n, params, grads, exp_avgs, exp_avg_sqs, sizes)
PYWD_DISPATCH(pywd_nadam_f32, NADAM_PARAMS(float), NADAM_ARGS)
PYWD_DISPATCH(pywd_nadam_f64, NADAM_PARAMS(double), NADAM_ARGS)
