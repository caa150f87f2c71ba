/* Adamax body (Kingma & Ba 2015, section 7.1; torch.optim.Adamax's order), stamped per dtype
 * and ISA by adamax.c and adamax_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2", torch's weight_decay)
 *   m = beta1*m + (1-beta1)*g
 *   u = max(beta2*u, |g| + eps)             NaN propagates, as torch.maximum
 *   w = w*(1-lr*wd) | ... (the multiplicative decays);  w = w - (lr/(1-beta1^t)) * (m/u)
 *   w = sign(w)*max(|w| - lr*wd, 0)         decay "l1"
 * The bias correction is computed once per call in double; one division per element. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, beta1, one_minus_beta1, beta2, eps, step_size, factor, threshold;
} NAME(adamax_consts);

typedef struct {
    NAME(adamax_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, exp_avgs, exp_infs, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(adamax_ctx);

PYWD_INLINE void NAME(adamax_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                   const real *PYWD_RESTRICT g, real *PYWD_RESTRICT m,
                                   real *PYWD_RESTRICT u, int64_t n,
                                   const NAME(adamax_consts) *c, const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, beta1 = c->beta1;
    const real one_minus_beta1 = c->one_minus_beta1, beta2 = c->beta2, eps = c->eps;
    const real step_size = c->step_size, factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real mi = beta1 * m[i] + one_minus_beta1 * gi;
        real decayed = beta2 * u[i], fresh = REAL_FABS(gi) + eps, step;
        /* `|`, not `||`: no branch, so the loop vectorises */
        real ui = ((decayed != decayed) | (decayed > fresh)) ? decayed : fresh;
        m[i] = mi;
        u[i] = ui;
        step = step_size * (mi / ui);
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(adamax_run)(const NAME(adamax_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *m = arg[2], *u = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_ADAMAX_CASE(d) case (d): NAME(adamax_loop)(w, w0, g, m, u, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_ADAMAX_CASE)
    default: break;
    }
#undef PYWD_ADAMAX_CASE
}

PYWD_ELEMENTWISE(adamax, 0xDu)

void NAME(pywd_adamax)(const pywd_adamax_hyper *h, int64_t n, real *const *params,
                       const real *const *grads, real *const *exp_avgs,
                       real *const *exp_infs, const int64_t *sizes);
void NAME(pywd_adamax)(const pywd_adamax_hyper *h, int64_t n, real *const *params,
                       const real *const *grads, real *const *exp_avgs,
                       real *const *exp_infs, const int64_t *sizes)
{
    NAME(adamax_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.eps = (real)h->eps;
    x.c.step_size = (real)(h->lr / (1.0 - pow(h->beta1, (double)h->step)));
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = exp_avgs;
    x.slot[3] = exp_infs;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(adamax_spans)(&x, n, sizes);
}

#undef NAME
