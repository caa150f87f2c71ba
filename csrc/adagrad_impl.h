/* Adagrad body (torch.optim.Adagrad's algorithm), stamped per dtype and ISA by adagrad.c and
 * adagrad_avx2.c. With clr = lr / (1 + (step-1)*lr_decay), computed once per call:
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   s = s + g*g
 *   w = w*(1-clr*wd) | w*(1-wd);  w = w - clr*(g/(sqrt(s) + eps));  "l1" threshold clr*wd */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"

typedef struct {
    real grad_mult, wd, clr, eps, factor, threshold;
} NAME(adagrad_consts);

typedef struct {
    NAME(adagrad_consts) c;
    int decay;
    const pywd_lowp *lowp;
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

/* The loop specialised for the call's decay, over n elements. */
static void NAME(adagrad_run)(const NAME(adagrad_ctx) *x, real *w, const real *w0,
                              const real *g, real *s, int64_t n)
{
#define PYWD_ADAGRAD_CASE(d) case (d): NAME(adagrad_loop)(w, w0, g, s, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_ADAGRAD_CASE)
    default: break;
    }
#undef PYWD_ADAGRAD_CASE
}

static void NAME(adagrad_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(adagrad_ctx) *x = (const NAME(adagrad_ctx) *)vctx;
    NAME(adagrad_run)(x, x->params[t] + begin, x->anchors ? x->anchors[t] + begin : 0,
                      x->grads[t] + begin, x->state_sums[t] + begin, end - begin);
}

#if !REAL_IS_DOUBLE
static void NAME(adagrad_tile)(const void *vctx, float *const *a, int64_t n)
{
    NAME(adagrad_run)((const NAME(adagrad_ctx) *)vctx, a[0], a[5], a[1], a[2], n);
}

static void NAME(adagrad_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(adagrad_ctx) *x = (const NAME(adagrad_ctx) *)vctx;
    void *const *const args[PYWD_LOWP_ARGS] = {
        (void *const *)x->params, (void *const *)x->grads, (void *const *)x->state_sums, 0, 0,
        (void *const *)x->anchors};
    pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, args, 0x5u, t, begin, end, NAME(adagrad_tile),
                   x);
}
#endif

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
    x.lowp = h->lowp;
#if !REAL_IS_DOUBLE
    if (x.lowp) {
        pywd_run_spans(n, sizes, NAME(adagrad_span_lowp), &x);
        return;
    }
#endif
    pywd_run_spans(n, sizes, NAME(adagrad_span), &x);
}

#undef NAME
