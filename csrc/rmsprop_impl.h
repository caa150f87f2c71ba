/* RMSprop body (torch.optim.RMSprop's algorithm), stamped per dtype and ISA by rmsprop.c and
 * rmsprop_avx2.c.
 *   g   = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   s   = alpha*s + (1-alpha)*(g*g)
 *   a   = alpha*a + (1-alpha)*g             centered: the gradient's running mean
 *   d   = sqrt(s - a*a) + eps  (centered)  | sqrt(s) + eps
 *   b   = momentum*b + g/d, u = b           momentum > 0;  else u = g/d
 *   w   = w*(1-lr*wd) | w*(1-wd);  w = w - lr*u;  then the "l1" threshold, as everywhere */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"

typedef struct {
    real grad_mult, wd, alpha, one_minus_alpha, eps, lr, momentum, factor, threshold;
} NAME(rmsprop_consts);

typedef struct {
    NAME(rmsprop_consts) c;
    int decay, centered, mom;
    const pywd_lowp *lowp;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *square_avgs, *const *bufs, *const *grad_avgs;
} NAME(rmsprop_ctx);

PYWD_INLINE void NAME(rmsprop_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                    const real *PYWD_RESTRICT g,
                                    real *PYWD_RESTRICT s, real *PYWD_RESTRICT b,
                                    real *PYWD_RESTRICT a, int64_t n,
                                    const NAME(rmsprop_consts) *c, const int decay,
                                    const int centered, const int mom)
{
    const real grad_mult = c->grad_mult, wd = c->wd, alpha = c->alpha, one_minus_alpha = c->one_minus_alpha;
    const real eps = c->eps, lr = c->lr, momentum = c->momentum, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real si = alpha * s[i] + one_minus_alpha * (gi * gi);
        real var = si, u;
        s[i] = si;
        if (centered) {
            real ai = alpha * a[i] + one_minus_alpha * gi;
            a[i] = ai;
            var = si - ai * ai;
        }
        u = gi / (REAL_SQRT(var) + eps);
        if (mom) {
            real bi = momentum * b[i] + u;
            b[i] = bi;
            u = bi;
        }
        u = lr * u;
        wi = NAME(decay_before)(wi, ai, u, factor, decay) - u;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's flags, over n elements. */
static void NAME(rmsprop_run)(const NAME(rmsprop_ctx) *x, real *w, const real *w0,
                              const real *g, real *s, real *b, real *a, int64_t n)
{
#define PYWD_RMS_CASE(D, C, M) \
    case (D) * 4 + (C) * 2 + (M): NAME(rmsprop_loop)(w, w0, g, s, b, a, n, &x->c, D, C, M); break;
#define PYWD_RMS_CASES(D) PYWD_RMS_CASE(D, 0, 0) PYWD_RMS_CASE(D, 0, 1) \
    PYWD_RMS_CASE(D, 1, 0) PYWD_RMS_CASE(D, 1, 1)
    switch (x->decay * 4 + x->centered * 2 + x->mom) {
        PYWD_DECAY_MODES(PYWD_RMS_CASES)
    default: break;
    }
#undef PYWD_RMS_CASE
#undef PYWD_RMS_CASES
}

static void NAME(rmsprop_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(rmsprop_ctx) *x = (const NAME(rmsprop_ctx) *)vctx;
    NAME(rmsprop_run)(x, x->params[t] + begin, x->anchors ? x->anchors[t] + begin : 0,
                      x->grads[t] + begin, x->square_avgs[t] + begin,
                      x->mom ? x->bufs[t] + begin : 0,
                      x->centered ? x->grad_avgs[t] + begin : 0, end - begin);
}

#if !REAL_IS_DOUBLE
static void NAME(rmsprop_tile)(const void *vctx, float *const *a, int64_t n)
{
    NAME(rmsprop_run)((const NAME(rmsprop_ctx) *)vctx, a[0], a[5], a[1], a[2], a[3], a[4], n);
}

static void NAME(rmsprop_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(rmsprop_ctx) *x = (const NAME(rmsprop_ctx) *)vctx;
    void *const *const args[PYWD_LOWP_ARGS] = {
        (void *const *)x->params, (void *const *)x->grads, (void *const *)x->square_avgs,
        (void *const *)x->bufs, (void *const *)x->grad_avgs, (void *const *)x->anchors};
    pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, args, 0x1Du, t, begin, end, NAME(rmsprop_tile),
                   x);
}
#endif

void NAME(pywd_rmsprop)(const pywd_rmsprop_hyper *h, int64_t n, real *const *params,
                        const real *const *grads, real *const *square_avgs,
                        real *const *momentum_buffers, real *const *grad_avgs,
                        const int64_t *sizes);
void NAME(pywd_rmsprop)(const pywd_rmsprop_hyper *h, int64_t n, real *const *params,
                        const real *const *grads, real *const *square_avgs,
                        real *const *momentum_buffers, real *const *grad_avgs,
                        const int64_t *sizes)
{
    NAME(rmsprop_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.centered = h->centered != 0;
    x.mom = h->momentum != 0.0;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.alpha = (real)h->alpha;
    x.c.one_minus_alpha = (real)(1.0 - h->alpha);
    x.c.eps = (real)h->eps;
    x.c.lr = (real)h->lr;
    x.c.momentum = (real)h->momentum;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.square_avgs = square_avgs;
    x.bufs = x.mom ? momentum_buffers : 0;
    x.grad_avgs = x.centered ? grad_avgs : 0;
    x.lowp = h->lowp;
#if !REAL_IS_DOUBLE
    if (x.lowp) {
        pywd_run_spans(n, sizes, NAME(rmsprop_span_lowp), &x);
        return;
    }
#endif
    pywd_run_spans(n, sizes, NAME(rmsprop_span), &x);
}

#undef NAME
