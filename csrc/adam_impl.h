/* Adam / AdamW / AMSGrad body, stamped per dtype and ISA by adam.c and adam_avx2.c.
 *
 * Per element (Kingma & Ba 2015; torch.optim.Adam's order; weight decay by docs/design.md):
 *   g  = g*grad_mult, negated if maximize     (loss scale, clipping)
 *   g  = g + wd*w                           decay "l2" (torch Adam's weight_decay)
 *   m  = beta1*m + (1-beta1)*g
 *   v  = beta2*v + (1-beta2)*(g*g)
 *   vmax = max(vmax, v), v^ = vmax          amsgrad (NaN propagates, as torch.maximum)
 *   d  = sqrt(v^) * (1/sqrt(1-beta2^t)) + eps
 *   w  = w*(1-lr*wd) | w*(1-wd)             decay "decoupled" (AdamW) | "independent"
 *   w  = w - (lr/(1-beta1^t)) * (m/d)
 *   w  = sign(w)*max(|w| - lr*wd, 0)        decay "l1"
 * The bias corrections are computed once per call in double; one sqrt and one division per
 * element (the costly operations on this kernel's critical path). */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, beta1, one_minus_beta1, beta2, one_minus_beta2;
    real step_size, inv_sqrt_bc2, eps, factor, threshold;
} NAME(adam_consts);

typedef struct {
    NAME(adam_consts) c;
    int decay, amsgrad;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, exp_avgs, exp_avg_sqs,
     * max_exp_avg_sqs, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(adam_ctx);

PYWD_INLINE void NAME(adam_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                 const real *PYWD_RESTRICT g,
                                 real *PYWD_RESTRICT m, real *PYWD_RESTRICT v,
                                 real *PYWD_RESTRICT vmax, int64_t n, const NAME(adam_consts) *c,
                                 const int decay, const int amsgrad)
{
    const real grad_mult = c->grad_mult, wd = c->wd, beta1 = c->beta1, one_minus_beta1 = c->one_minus_beta1;
    const real beta2 = c->beta2, one_minus_beta2 = c->one_minus_beta2, step_size = c->step_size;
    const real inv_sqrt_bc2 = c->inv_sqrt_bc2, eps = c->eps, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real mi = beta1 * m[i] + one_minus_beta1 * gi;
        real vi = beta2 * v[i] + one_minus_beta2 * (gi * gi);
        real vhat = vi, step;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            real mx = vmax[i];
            mx = (mx != mx || mx > vi) ? mx : vi;
            vmax[i] = mx;
            vhat = mx;
        }
        step = step_size * (mi / (REAL_SQRT(vhat) * inv_sqrt_bc2 + eps));
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's flags, over n elements. */
static void NAME(adam_run)(const NAME(adam_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *m = arg[2], *v = arg[3], *vmax = arg[4];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_ADAM_CASE(d, a) \
    case (d) * 2 + (a): NAME(adam_loop)(w, w0, g, m, v, vmax, n, &x->c, d, a); break;
#define PYWD_ADAM_CASES(d) PYWD_ADAM_CASE(d, 0) PYWD_ADAM_CASE(d, 1)
    switch (x->decay * 2 + x->amsgrad) {
        PYWD_DECAY_MODES(PYWD_ADAM_CASES)
    default: break;
    }
#undef PYWD_ADAM_CASE
#undef PYWD_ADAM_CASES
}

PYWD_ELEMENTWISE(adam, 0x1Du)

void NAME(pywd_adam)(const pywd_adam_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs, real *const *exp_avg_sqs,
                     real *const *max_exp_avg_sqs, const int64_t *sizes);
void NAME(pywd_adam)(const pywd_adam_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs, real *const *exp_avg_sqs,
                     real *const *max_exp_avg_sqs, const int64_t *sizes)
{
    NAME(adam_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double bias_correction1 = 1.0 - pow(h->beta1, (double)h->step);
    double bias_correction2 = 1.0 - pow(h->beta2, (double)h->step);
    x.decay = d.mode;
    x.amsgrad = h->amsgrad != 0;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.step_size = (real)(h->lr / bias_correction1);
    x.c.inv_sqrt_bc2 = (real)(1.0 / sqrt(bias_correction2));
    x.c.eps = (real)h->eps;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = exp_avgs;
    x.slot[3] = exp_avg_sqs;
    x.slot[4] = x.amsgrad ? max_exp_avg_sqs : 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(adam_spans)(&x, n, sizes);
}

#undef NAME
