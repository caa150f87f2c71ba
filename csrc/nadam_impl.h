/* NAdam body (Dozat 2016, "Incorporating Nesterov Momentum into Adam"; torch.optim.NAdam's
 * order, with its momentum schedule), stamped per dtype and ISA by nadam.c and nadam_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2", torch's weight_decay)
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
 *   d = sqrt(v / bc2) + eps
 *   w = w*(1-lr*wd) | ... (the multiplicative decays: torch's decoupled_weight_decay)
 *   w = (w - c_grad*(g/d)) - c_avg*(m/d)       two roundings, as torch's two addcdiv_
 *   w = sign(w)*max(|w| - lr*wd, 0)            decay "l1"
 * with mu_t = beta1*(1 - 0.5*0.96^(t*momentum_decay)), prod = mu_product*mu_t,
 * c_grad = lr*(1-mu_t)/(1-prod) and c_avg = lr*mu_{t+1}/(1-prod*mu_{t+1}), computed once
 * per call in double (mu_product: the product of mu over the steps before this one). */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps;
    real c_grad, c_avg, factor, threshold;
} NAME(nadam_consts);

typedef struct {
    NAME(nadam_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, exp_avgs, exp_avg_sqs, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(nadam_ctx);

PYWD_INLINE void NAME(nadam_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                  const real *PYWD_RESTRICT g, real *PYWD_RESTRICT m,
                                  real *PYWD_RESTRICT v, int64_t n,
                                  const NAME(nadam_consts) *c, const int decay)
{
    const real grad_mult = c->grad_mult, wd = c->wd, beta1 = c->beta1;
    const real one_minus_beta1 = c->one_minus_beta1, beta2 = c->beta2;
    const real one_minus_beta2 = c->one_minus_beta2, bc2 = c->bc2, eps = c->eps;
    const real c_grad = c->c_grad, c_avg = c->c_avg, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real mi = beta1 * m[i] + one_minus_beta1 * gi;
        real vi = beta2 * v[i] + one_minus_beta2 * (gi * gi);
        real d = REAL_SQRT(vi / bc2) + eps;
        real from_grad = c_grad * (gi / d), from_avg = c_avg * (mi / d);
        m[i] = mi;
        v[i] = vi;
        wi = NAME(decay_before)(wi, ai, from_grad + from_avg, factor, decay);
        wi = (wi - from_grad) - from_avg;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's decay, over n elements. */
static void NAME(nadam_run)(const NAME(nadam_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *m = arg[2], *v = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_NADAM_CASE(d) case (d): NAME(nadam_loop)(w, w0, g, m, v, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_NADAM_CASE)
    default: break;
    }
#undef PYWD_NADAM_CASE
}

PYWD_ELEMENTWISE(nadam, 0xDu)

void NAME(pywd_nadam)(const pywd_nadam_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *exp_avgs,
                      real *const *exp_avg_sqs, const int64_t *sizes);
void NAME(pywd_nadam)(const pywd_nadam_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *exp_avgs,
                      real *const *exp_avg_sqs, const int64_t *sizes)
{
    NAME(nadam_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double t = (double)h->step;
    double mu = h->beta1 * (1.0 - 0.5 * pow(0.96, t * h->momentum_decay));
    double mu_next = h->beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * h->momentum_decay));
    double prod = h->mu_product * mu, prod_next = prod * mu_next;
    x.decay = d.mode;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.bc2 = (real)(1.0 - pow(h->beta2, t));
    x.c.eps = (real)h->eps;
    x.c.c_grad = (real)(h->lr * (1.0 - mu) / (1.0 - prod));
    x.c.c_avg = (real)(h->lr * mu_next / (1.0 - prod_next));
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = exp_avgs;
    x.slot[3] = exp_avg_sqs;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(nadam_spans)(&x, n, sizes);
}

#undef NAME
