/* Adadelta body (Zeiler 2012; torch.optim.Adadelta's order), stamped per dtype and ISA by
 * adadelta.c and adadelta_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2", torch's weight_decay)
 *   s = rho*s + (1-rho)*(g*g)
 *   d = (sqrt(a + eps) / sqrt(s + eps)) * g
 *   a = rho*a + (1-rho)*(d*d)
 *   w = w*(1-lr*wd) | ... (the multiplicative decays);  w = w - lr*d
 *   w = sign(w)*max(|w| - lr*wd, 0)         decay "l1"
 * Two square roots and one division per element. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, rho, one_minus_rho, eps, lr, factor, threshold;
} NAME(adadelta_consts);

typedef struct {
    NAME(adadelta_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, square_avgs, acc_deltas, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(adadelta_ctx);

PYWD_INLINE void NAME(adadelta_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                     const real *PYWD_RESTRICT g, real *PYWD_RESTRICT s,
                                     real *PYWD_RESTRICT acc, int64_t n,
                                     const NAME(adadelta_consts) *c, const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, rho = c->rho;
    const real one_minus_rho = c->one_minus_rho, eps = c->eps, lr = c->lr;
    const real factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real si = rho * s[i] + one_minus_rho * (gi * gi);
        real delta = (REAL_SQRT(acc[i] + eps) / REAL_SQRT(si + eps)) * gi, step;
        s[i] = si;
        acc[i] = rho * acc[i] + one_minus_rho * (delta * delta);
        step = lr * delta;
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(adadelta_run)(const NAME(adadelta_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *s = arg[2], *acc = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_ADADELTA_CASE(d) \
    case (d): NAME(adadelta_loop)(w, w0, g, s, acc, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_ADADELTA_CASE)
    default: break;
    }
#undef PYWD_ADADELTA_CASE
}

PYWD_ELEMENTWISE(adadelta, 0xDu)

void NAME(pywd_adadelta)(const pywd_adadelta_hyper *h, int64_t n, real *const *params,
                       const real *const *grads, real *const *square_avgs,
                       real *const *acc_deltas, const int64_t *sizes);
void NAME(pywd_adadelta)(const pywd_adadelta_hyper *h, int64_t n, real *const *params,
                       const real *const *grads, real *const *square_avgs,
                       real *const *acc_deltas, const int64_t *sizes)
{
    NAME(adadelta_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.rho = (real)h->rho;
    x.c.one_minus_rho = (real)(1.0 - h->rho);
    x.c.eps = (real)h->eps;
    x.c.lr = (real)h->lr;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = square_avgs;
    x.slot[3] = acc_deltas;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(adadelta_spans)(&x, n, sizes);
}

#undef NAME
