/* RAdam body (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond";
 * torch.optim.RAdam's order), stamped per dtype and ISA by radam.c and radam_avx2.c.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2", torch's weight_decay)
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
 *   u = ((m / bc1) * lr) * (sqrt(bc2) / (sqrt(v) + eps)) * rect   when rho_t > 5
 *   u = (m / bc1) * lr                                             otherwise (SGD momentum)
 *   w = w*(1-lr*wd) | ... (the multiplicative decays: torch's decoupled_weight_decay);
 *   w = w - u;  w = sign(w)*max(|w| - lr*wd, 0) (decay "l1")
 * bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, rho_inf = 2/(1-beta2) - 1,
 * rho_t = rho_inf - 2 t beta2^t / bc2 and the rectification
 * rect = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t)) are computed
 * once per call in double; whether rho_t > 5 is a flag of the call. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, beta1, one_minus_beta1, beta2, one_minus_beta2, lr, bc1, sqrt_bc2;
    real eps, rect, factor, threshold;
} NAME(radam_consts);

typedef struct {
    NAME(radam_consts) c;
    int decay, rectify;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, exp_avgs, exp_avg_sqs, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(radam_ctx);

PYWD_INLINE void NAME(radam_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                  const real *PYWD_RESTRICT g, real *PYWD_RESTRICT m,
                                  real *PYWD_RESTRICT v, int64_t n,
                                  const NAME(radam_consts) *c, const int decay,
                                  const int rectify)
{
    const real grad_mult = c->grad_mult, wd = c->wd, beta1 = c->beta1;
    const real one_minus_beta1 = c->one_minus_beta1, beta2 = c->beta2;
    const real one_minus_beta2 = c->one_minus_beta2, lr = c->lr, bc1 = c->bc1;
    const real sqrt_bc2 = c->sqrt_bc2, eps = c->eps, rect = c->rect, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real mi = beta1 * m[i] + one_minus_beta1 * gi;
        real vi = beta2 * v[i] + one_minus_beta2 * (gi * gi);
        real step = (mi / bc1) * lr;
        m[i] = mi;
        v[i] = vi;
        if (rectify) step = (step * (sqrt_bc2 / (REAL_SQRT(vi) + eps))) * rect;
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's flags, over n elements. */
static void NAME(radam_run)(const NAME(radam_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *m = arg[2], *v = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_RADAM_CASE(d, r) \
    case (d) * 2 + (r): NAME(radam_loop)(w, w0, g, m, v, n, &x->c, d, r); break;
#define PYWD_RADAM_CASES(d) PYWD_RADAM_CASE(d, 0) PYWD_RADAM_CASE(d, 1)
    switch (x->decay * 2 + x->rectify) {
        PYWD_DECAY_MODES(PYWD_RADAM_CASES)
    default: break;
    }
#undef PYWD_RADAM_CASE
#undef PYWD_RADAM_CASES
}

PYWD_ELEMENTWISE(radam, 0xDu)

void NAME(pywd_radam)(const pywd_radam_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *exp_avgs,
                      real *const *exp_avg_sqs, const int64_t *sizes);
void NAME(pywd_radam)(const pywd_radam_hyper *h, int64_t n, real *const *params,
                      const real *const *grads, real *const *exp_avgs,
                      real *const *exp_avg_sqs, const int64_t *sizes)
{
    NAME(radam_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double t = (double)h->step, bc1 = 1.0 - pow(h->beta1, t), bc2 = 1.0 - pow(h->beta2, t);
    double rho_inf = 2.0 / (1.0 - h->beta2) - 1.0;
    double rho_t = rho_inf - 2.0 * t * pow(h->beta2, t) / bc2;
    x.decay = d.mode;
    x.rectify = rho_t > 5.0;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.lr = (real)h->lr;
    x.c.bc1 = (real)bc1;
    x.c.sqrt_bc2 = (real)sqrt(bc2);
    x.c.eps = (real)h->eps;
    x.c.rect = (real)(x.rectify ? sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                       ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                                : 1.0);
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = exp_avgs;
    x.slot[3] = exp_avg_sqs;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(radam_spans)(&x, n, sizes);
}

#undef NAME
