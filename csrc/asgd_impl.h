/* ASGD body (averaged SGD: Polyak & Juditsky 1992, with Bottou's step-size schedule 2012;
 * torch.optim.ASGD's order), stamped per dtype and ISA by asgd.c and asgd_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2", torch's weight_decay)
 *   w = w*(1 - lambd*eta)                   ASGD's own decay term
 *   w = w*(1-eta*wd) | ... (pywd's multiplicative decays, eta as their lr);  w = w - eta*g
 *   w = sign(w)*max(|w| - eta*wd, 0)        decay "l1"
 *   ax = ax + (w - ax)*mu, or ax = w when mu is 1 (a copy, as torch)
 * eta and mu are the call's (the caller's schedule). */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, eta, shrink, mu, factor, threshold;
} NAME(asgd_consts);

typedef struct {
    NAME(asgd_consts) c;
    int decay, average;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, axs, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(asgd_ctx);

PYWD_INLINE void NAME(asgd_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                 const real *PYWD_RESTRICT g, real *PYWD_RESTRICT ax,
                                 int64_t n, const NAME(asgd_consts) *c, const int decay,
                                 const int average)
{
    const real grad_mult = c->grad_mult, wd = c->wd, eta = c->eta, shrink = c->shrink;
    const real mu = c->mu, factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real update = eta * gi;
        wi = NAME(decay_before)(wi * shrink, ai, update, factor, decay) - update;
        wi = NAME(decay_after)(wi, ai, threshold, decay);
        w[i] = wi;
        ax[i] = average ? ax[i] + (wi - ax[i]) * mu : wi;
    }
}

/* The loop specialised for the call's decay and averaging, over n elements. */
static void NAME(asgd_run)(const NAME(asgd_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *ax = arg[2];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_ASGD_CASE(d, a) \
    case (d) * 2 + (a): NAME(asgd_loop)(w, w0, g, ax, n, &x->c, d, a); break;
#define PYWD_ASGD_CASES(d) PYWD_ASGD_CASE(d, 0) PYWD_ASGD_CASE(d, 1)
    switch (x->decay * 2 + x->average) {
        PYWD_DECAY_MODES(PYWD_ASGD_CASES)
    default: break;
    }
#undef PYWD_ASGD_CASE
#undef PYWD_ASGD_CASES
}

PYWD_ELEMENTWISE(asgd, 0x5u)

void NAME(pywd_asgd)(const pywd_asgd_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *axs, const int64_t *sizes);
void NAME(pywd_asgd)(const pywd_asgd_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *axs, const int64_t *sizes)
{
    NAME(asgd_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->eta);
    x.decay = d.mode;
    x.average = h->mu != 1.0;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.eta = (real)h->eta;
    x.c.shrink = (real)(1.0 - h->lambd * h->eta);
    x.c.mu = (real)h->mu;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = axs;
    x.slot[3] = 0;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(asgd_spans)(&x, n, sizes);
}

#undef NAME
