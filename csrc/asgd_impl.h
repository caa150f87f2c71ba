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

typedef struct {
    real grad_mult, wd, eta, shrink, mu, factor, threshold;
} NAME(asgd_consts);

typedef struct {
    NAME(asgd_consts) c;
    int decay, average;
    const pywd_lowp *lowp;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *axs;
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
static void NAME(asgd_run)(const NAME(asgd_ctx) *x, real *w, const real *w0, const real *g,
                           real *ax, int64_t n)
{
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

static void NAME(asgd_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(asgd_ctx) *x = (const NAME(asgd_ctx) *)vctx;
    NAME(asgd_run)(x, x->params[t] + begin, x->anchors ? x->anchors[t] + begin : 0,
                   x->grads[t] + begin, x->axs[t] + begin, end - begin);
}

#if !REAL_IS_DOUBLE
static void NAME(asgd_tile)(const void *vctx, float *const *a, int64_t n)
{
    NAME(asgd_run)((const NAME(asgd_ctx) *)vctx, a[0], a[5], a[1], a[2], n);
}

static void NAME(asgd_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(asgd_ctx) *x = (const NAME(asgd_ctx) *)vctx;
    void *const *const args[PYWD_LOWP_ARGS] = {
        (void *const *)x->params, (void *const *)x->grads, (void *const *)x->axs, 0, 0,
        (void *const *)x->anchors};
    pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, args, 0x5u, t, begin, end, NAME(asgd_tile), x);
}
#endif

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
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.axs = axs;
    x.lowp = h->lowp;
#if !REAL_IS_DOUBLE
    if (x.lowp) {
        pywd_run_spans(n, sizes, NAME(asgd_span_lowp), &x);
        return;
    }
#endif
    pywd_run_spans(n, sizes, NAME(asgd_span), &x);
}

#undef NAME
