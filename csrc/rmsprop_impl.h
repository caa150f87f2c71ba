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
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, alpha, one_minus_alpha, eps, lr, momentum, factor, threshold;
} NAME(rmsprop_consts);

typedef struct {
    NAME(rmsprop_consts) c;
    int decay, centered, mom;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, square_avgs, bufs, grad_avgs, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
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
static void NAME(rmsprop_run)(const NAME(rmsprop_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *s = arg[2], *b = arg[3], *a = arg[4];
    const real *w0 = arg[5], *g = arg[1];
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

PYWD_ELEMENTWISE(rmsprop, 0x1Du)

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
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = square_avgs;
    x.slot[3] = x.mom ? momentum_buffers : 0;
    x.slot[4] = x.centered ? grad_avgs : 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(rmsprop_spans)(&x, n, sizes);
}

#undef NAME
