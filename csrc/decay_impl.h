/* The bare decay step (pywd.decay), stamped per dtype and ISA by decay.c and decay_avx2.c.
 * It is the SGD step with a zero gradient:
 *   "l2"          w = w - lr*(wd*w)      (the gradient step of the penalty wd/2*|w|^2)
 *   "decoupled"   w = w*(1 - lr*wd), and "independent", "corrected" with their factors
 *   "l1"          w = sign(w)*max(|w| - lr*wd, 0)
 * With no update to compare with, cautious does not apply. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    int decay;
    real lr, wd, factor, threshold;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, -, -, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(decay_ctx);

PYWD_INLINE void NAME(decay_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                  int64_t n, const NAME(decay_ctx) *x, const int decay)
{
    const real lr = x->lr, wd = x->wd, factor = x->factor, threshold = x->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        if ((decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2)
            wi = wi - lr * (wd * NAME(decay_offset)(wi, ai, decay));
        wi = NAME(decay_before)(wi, ai, 0, factor, decay);
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(decay_run)(const NAME(decay_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0];
    const real *w0 = arg[5];
#define PYWD_DECAY_CASE(d) case (d): NAME(decay_loop)(w, w0, n, x, d); break;
    switch (x->decay) { /* NONE never gets here: pywd_decay returns */
        PYWD_DECAY_MODES(PYWD_DECAY_CASE)
    default: break;
    }
#undef PYWD_DECAY_CASE
}

PYWD_ELEMENTWISE(decay, 0x1u)

void NAME(pywd_decay)(double lr, const pywd_decay *decay, const pywd_lowp *lowp, int64_t n,
                      real *const *params, const int64_t *sizes);
void NAME(pywd_decay)(double lr, const pywd_decay *decay, const pywd_lowp *lowp, int64_t n,
                      real *const *params, const int64_t *sizes)
{
    NAME(decay_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(decay, lr);
    x.decay = d.mode;
    if (x.decay == PYWD_DECAY_NONE) return;
    x.lr = (real)lr;
    x.wd = (real)d.wd;
    x.factor = (real)d.factor;
    x.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = 0;
    x.slot[2] = 0;
    x.slot[3] = 0;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)decay->anchors;
    x.lowp = lowp;
    NAME(decay_spans)(&x, n, sizes);
}

#undef NAME
