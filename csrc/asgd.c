/* ASGD kernels: asgd_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or asgd_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "asgd_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define ASGD_PARAMS(real)                                                                \
    (const pywd_asgd_hyper *h, int64_t n, real *const *params, const real *const *grads,    \
     real *const *axs, const int64_t *sizes)
#define ASGD_ARGS (h, n, params, grads, axs, sizes)
PYWD_DISPATCH(pywd_asgd_f32, ASGD_PARAMS(float), ASGD_ARGS)
PYWD_DISPATCH(pywd_asgd_f64, ASGD_PARAMS(double), ASGD_ARGS)
