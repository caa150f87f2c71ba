/* Bare decay kernels: decay_impl.h stamped for float and double (portable baseline), and the
 * public entry points, which pick this stamp or decay_avx2.c's at run time. */
#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "decay_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define DECAY_PARAMS(real)                                                                 \
    (double lr, const pywd_decay *decay, const pywd_lowp *lowp, int64_t n, real *const *params, \
     const int64_t *sizes)
PYWD_DISPATCH(pywd_decay_f32, DECAY_PARAMS(float), (lr, decay, lowp, n, params, sizes))
PYWD_DISPATCH(pywd_decay_f64, DECAY_PARAMS(double), (lr, decay, lowp, n, params, sizes))
