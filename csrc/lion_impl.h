/* Lion body (Chen et al. 2023, Algorithm 2), stamped per dtype and ISA by lion.c and
 * lion_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   u = sign(beta1*m + (1-beta1)*g)         0 stays 0 and NaN stays NaN (torch.sign)
 *   w = w*(1-lr*wd) | w*(1-wd);  w = w - lr*u;  "l1" threshold lr*wd
 *   m = beta2*m + (1-beta2)*g */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, factor, threshold;
} NAME(lion_consts);

typedef struct {
    NAME(lion_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, exp_avgs, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
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
static void NAME(lion_run)(const NAME(lion_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *m = arg[2];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_LION_CASE(d) case (d): NAME(lion_loop)(w, w0, g, m, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_LION_CASE)
    default: break;
    }
#undef PYWD_LION_CASE
}

PYWD_ELEMENTWISE(lion, 0x5u)

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
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = exp_avgs;
    x.slot[3] = 0;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(lion_spans)(&x, n, sizes);
}

#undef NAME
