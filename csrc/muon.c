/* Muon kernels: muon_impl.h stamped for float and double (portable baseline), and the public
 * entry points, which pick this stamp or muon_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "pywd.h"

#define KERNEL_BODY "muon_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define MUON_MOMENTUM_PARAMS(real)                                                         \
    (const pywd_muon_hyper *h, int64_t n, const real *const *params,                        \
     const real *const *grads, real *const *bufs, real *const *updates,                     \
     const int64_t *sizes)
#define MUON_MOMENTUM_ARGS (h, n, params, grads, bufs, updates, sizes)
PYWD_DISPATCH(pywd_muon_momentum_f32, MUON_MOMENTUM_PARAMS(float), MUON_MOMENTUM_ARGS)
PYWD_DISPATCH(pywd_muon_momentum_f64, MUON_MOMENTUM_PARAMS(double), MUON_MOMENTUM_ARGS)

#define MUON_APPLY_PARAMS(real)                                                            \
    (const pywd_muon_hyper *h, int64_t n, real *const *params, const real *const *updates,  \
     const int64_t *sizes)
#define MUON_APPLY_ARGS (h, n, params, updates, sizes)
PYWD_DISPATCH(pywd_muon_apply_f32, MUON_APPLY_PARAMS(float), MUON_APPLY_ARGS)
PYWD_DISPATCH(pywd_muon_apply_f64, MUON_APPLY_PARAMS(double), MUON_APPLY_ARGS)
