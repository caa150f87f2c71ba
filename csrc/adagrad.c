/* Adagrad kernels: adagrad_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or adagrad_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "adagrad_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define ADAGRAD_PARAMS(real)                                                             \
    (const pywd_adagrad_hyper *h, int64_t n, real *const *params, const real *const *grads, \
     real *const *state_sums, const int64_t *sizes)
#define ADAGRAD_ARGS (h, n, params, grads, state_sums, sizes)
PYWD_DISPATCH(pywd_adagrad_f32, ADAGRAD_PARAMS(float), ADAGRAD_ARGS)
PYWD_DISPATCH(pywd_adagrad_f64, ADAGRAD_PARAMS(double), ADAGRAD_ARGS)
