/* Rprop body (Riedmiller & Braun 1993, the variant without backtracking; torch.optim.Rprop's
 * order), stamped per dtype and ISA by rprop.c and rprop_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   p = g*prev:  s = clamp(s*etaplus, lo, hi) where p > 0, clamp(s*etaminus, lo, hi) and
 *                g = 0 where p < 0, clamp(s, lo, hi) where p == 0; NaN where p is NaN
 *   w = w*(1-lr*wd) | ... (the multiplicative decays);  w = w - sign(g)*s
 *   w = sign(w)*max(|w| - lr*wd, 0)   decay "l1";  prev = g
 * Every choice is arithmetic or a select, so the loop vectorises. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, etaminus, etaplus, step_min, step_max, factor, threshold;
} NAME(rprop_consts);

typedef struct {
    NAME(rprop_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, prevs, step_sizes, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(rprop_ctx);

PYWD_INLINE void NAME(rprop_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                  const real *PYWD_RESTRICT g, real *PYWD_RESTRICT prev,
                                  real *PYWD_RESTRICT s, int64_t n,
                                  const NAME(rprop_consts) *c, const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, etaminus = c->etaminus;
    const real etaplus = c->etaplus, step_min = c->step_min, step_max = c->step_max;
    const real factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real p = gi * prev[i];
        /* times etaplus, etaminus or 1; a NaN product makes the step size NaN, as torch's
         * sign(NaN) does */
        real eta = p > 0 ? etaplus : (p < 0 ? etaminus : (p == p ? (real)1 : p));
        real si = s[i] * eta, update;
        si = si < step_min ? step_min : si;
        si = si > step_max ? step_max : si;
        gi = p < 0 ? (real)0 : gi;
        update = ((real)(gi > 0) - (real)(gi < 0)) * si;
        s[i] = si;
        prev[i] = gi;
        wi = NAME(decay_before)(wi, ai, update, factor, decay) - update;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(rprop_run)(const NAME(rprop_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *prev = arg[2], *s = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_RPROP_CASE(d) case (d): NAME(rprop_loop)(w, w0, g, prev, s, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_RPROP_CASE)
    default: break;
    }
#undef PYWD_RPROP_CASE
}

PYWD_ELEMENTWISE(rprop, 0xDu)

void NAME(pywd_rprop)(const pywd_rprop_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *prevs, real *const *step_sizes,
                      const int64_t *sizes);
void NAME(pywd_rprop)(const pywd_rprop_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *prevs, real *const *step_sizes,
                      const int64_t *sizes)
{
    NAME(rprop_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.etaminus = (real)h->etaminus;
    x.c.etaplus = (real)h->etaplus;
    x.c.step_min = (real)h->step_size_min;
    x.c.step_max = (real)h->step_size_max;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = prevs;
    x.slot[3] = step_sizes;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(rprop_spans)(&x, n, sizes);
}

#undef NAME
