/* Adagrad body (torch.optim.Adagrad's algorithm), stamped per dtype and ISA by adagrad.c and
 * adagrad_avx2.c. With clr = lr / (1 + (step-1)*lr_decay), computed once per call:
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   s = s + g*g
 *   w = w*(1-clr*wd) | w*(1-wd);  w = w - clr*(g/(sqrt(s) + eps));  "l1" threshold clr*wd */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

typedef struct {
    real grad_mult, wd, clr, eps, factor, threshold;
} NAME(adagrad_consts);

typedef struct {
    NAME(adagrad_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, state_sums, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
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
static void NAME(adagrad_run)(const NAME(adagrad_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *s = arg[2];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_ADAGRAD_CASE(d) case (d): NAME(adagrad_loop)(w, w0, g, s, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_ADAGRAD_CASE)
    default: break;
    }
#undef PYWD_ADAGRAD_CASE
}

PYWD_ELEMENTWISE(adagrad, 0x5u)

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
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = state_sums;
    x.slot[3] = 0;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(adagrad_spans)(&x, n, sizes);
}

#undef NAME
