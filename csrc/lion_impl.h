/* Lion body (Chen et al. 2023, Algorithm 2), stamped per dtype and ISA by lion.c and
 * lion_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   u = sign(beta1*m + (1-beta1)*g)         0 stays 0 and NaN stays NaN (torch.sign)
 *   w = w*(1-lr*wd) | w*(1-wd);  w = w - lr*u;  "l1" threshold lr*wd
 *   m = beta2*m + (1-beta2)*g */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"

typedef struct {
    real grad_mult, wd, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, factor, threshold;
} NAME(lion_consts);

typedef struct {
    NAME(lion_consts) c;
    int decay;
    const pywd_lowp *lowp;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *exp_avgs;
} NAME(lion_ctx);

PYWD_INLINE void NAME(lion_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                 const real *PYWD_RESTRICT g,
                                 real *PYWD_RESTRICT m, int64_t n, const NAME(lion_consts) *c,
                                 const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, lr = c->lr, beta1 = c->beta1;
    const real one_minus_beta1 = c->one_minus_beta1, beta2 = c->beta2;
    const real one_minus_beta2 = c->one_minus_beta2, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real mi = m[i];
        real ci = beta1 * mi + one_minus_beta1 * gi;
        /* sign(c), branch-free: +-1, but 0 and NaN pass through (one select vectorises) */
        real u = (ci == 0 || ci != ci) ? ci : REAL_COPYSIGN((real)1, ci);
        u = lr * u;
        wi = NAME(decay_before)(wi, ai, u, factor, decay) - u;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
        m[i] = beta2 * mi + one_minus_beta2 * gi;
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(lion_run)(const NAME(lion_ctx) *x, real *w, const real *w0, const real *g,
                           real *m, int64_t n)
{
#define PYWD_LION_CASE(d) case (d): NAME(lion_loop)(w, w0, g, m, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_LION_CASE)
    default: break;
    }
#undef PYWD_LION_CASE
}

static void NAME(lion_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(lion_ctx) *x = (const NAME(lion_ctx) *)vctx;
    NAME(lion_run)(x, x->params[t] + begin, x->anchors ? x->anchors[t] + begin : 0,
                   x->grads[t] + begin, x->exp_avgs[t] + begin, end - begin);
}

#if !REAL_IS_DOUBLE
static void NAME(lion_tile)(const void *vctx, float *const *a, int64_t n)
{
    NAME(lion_run)((const NAME(lion_ctx) *)vctx, a[0], a[5], a[1], a[2], n);
}

static void NAME(lion_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(lion_ctx) *x = (const NAME(lion_ctx) *)vctx;
    void *const *const args[PYWD_LOWP_ARGS] = {
        (void *const *)x->params, (void *const *)x->grads, (void *const *)x->exp_avgs, 0, 0,
        (void *const *)x->anchors};
    pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, args, 0x5u, t, begin, end, NAME(lion_tile), x);
}
#endif

void NAME(pywd_lion)(const pywd_lion_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs, const int64_t *sizes);
void NAME(pywd_lion)(const pywd_lion_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs, const int64_t *sizes)
{
    NAME(lion_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.lr = (real)h->lr;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.exp_avgs = exp_avgs;
    x.lowp = h->lowp;
#if !REAL_IS_DOUBLE
    if (x.lowp) {
        pywd_run_spans(n, sizes, NAME(lion_span_lowp), &x);
        return;
    }
#endif
    pywd_run_spans(n, sizes, NAME(lion_span), &x);
}

#undef NAME
