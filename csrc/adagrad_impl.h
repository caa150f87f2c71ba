/* Adagrad body (torch.optim.Adagrad's algorithm), stamped per dtype and ISA by adagrad.c and
 * adagrad_avx2.c. With clr = lr / (1 + (step-1)*lr_decay), computed once per call:
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   s = s + g*g
 *   w = w*(1-clr*wd) | w*(1-wd);  w = w - clr*(g/(sqrt(s) + eps));  "l1" threshold clr*wd */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "weight_decay.h"

typedef struct {
    real grad_mult, wd, clr, eps, factor, threshold;
} NAME(adagrad_consts);

typedef struct {
    NAME(adagrad_consts) c;
    int decay;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *state_sums;
} NAME(adagrad_ctx);

PYWD_INLINE void NAME(adagrad_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                    const real *PYWD_RESTRICT g,
                                    real *PYWD_RESTRICT s, int64_t n,
                                    const NAME(adagrad_consts) *c, const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, clr = c->clr, eps = c->eps, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real si = s[i] + gi * gi, step;
        s[i] = si;
        step = clr * (gi / (REAL_SQRT(si) + eps));
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

static void NAME(adagrad_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(adagrad_ctx) *x = (const NAME(adagrad_ctx) *)vctx;
    real *w = x->params[t] + begin, *s = x->state_sums[t] + begin;
    const real *g = x->grads[t] + begin;
    const real *w0 = x->anchors ? x->anchors[t] + begin : 0;
    int64_t n = end - begin;
#define PYWD_ADAGRAD_CASE(d) case (d): NAME(adagrad_loop)(w, w0, g, s, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_ADAGRAD_CASE)
    default: break;
    }
#undef PYWD_ADAGRAD_CASE
}

void NAME(pywd_adagrad)(const pywd_adagrad_hyper *h, int64_t n, real *const *params,
                        const real *const *grads, real *const *state_sums, const int64_t *sizes);
void NAME(pywd_adagrad)(const pywd_adagrad_hyper *h, int64_t n, real *const *params,
                        const real *const *grads, real *const *state_sums, const int64_t *sizes)
{
    NAME(adagrad_ctx) x;
    double clr = h->lr / (1.0 + (double)(h->step - 1) * h->lr_decay);
    pywd_decay_consts d = pywd_decay_setup(&h->decay, clr);
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.clr = (real)clr;
    x.c.eps = (real)h->eps;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.state_sums = state_sums;
    pywd_run_spans(n, sizes, NAME(adagrad_span), &x);
}

#undef NAME
