/* Adadelta kernels: adadelta_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or adadelta_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "adadelta_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define ADADELTA_PARAMS(real)                                                                \
    (const pywd_adadelta_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *square_avgs, real *const *acc_deltas, const int64_t *sizes)
#define ADADELTA_ARGS (h, n, params, grads, square_avgs, acc_deltas, sizes)
PYWD_DISPATCH(pywd_adadelta_f32, ADADELTA_PARAMS(float), ADADELTA_ARGS)
PYWD_DISPATCH(pywd_adadelta_f64, ADADELTA_PARAMS(double), ADADELTA_ARGS)
