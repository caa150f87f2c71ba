/* Schedule-free AdamW and SGD body (Defazio et al. 2024, "The Road Less Scheduled"; the
 * schedulefree package's memory-efficient order), stamped per dtype and ISA by
 * schedulefree.c and schedulefree_avx2.c. The params hold y, where gradients are taken;
 * z is the SGD/Adam sequence, x (the average, to evaluate with) is y's and z's to recover:
 * x = (y - (1 - beta1)*z) / beta1.
 *   g = g*grad_mult (negated if maximize);  g = g + wd*y (decay "l2")
 *   AdamW:  v = beta2*v + (1-beta2)*g^2;  u = g / (sqrt(v / (1-beta2^t)) + eps)
 *   SGD:    u = g                                 (exp_avg_sqs NULL; beta1 is momentum)
 *   dz = lr*u + rate*y                            the multiplicative modes (the package's
 *                                                 weight_decay: rate = lr*wd, at y)
 *   z' = z - dz                                   ("l1": z' = soft(z - lr*u, lr*wd),
 *                                                  dz = z - z')
 *   y' = lerp(y, z, c) - (1 - beta1*(1 - c))*dz   c: the average's weight, ckp1
 * lerp as torch's (lerp.h). */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"
#include "lerp.h"

typedef struct {
    real grad_mult, wd, lr, beta2, one_minus_beta2, bias_correction2, eps, rate, threshold;
    real lerp, step_share; /* c or c - 1; 1 - beta1*(1 - c) */
} NAME(schedulefree_consts);

typedef struct {
    NAME(schedulefree_consts) c;
    int decay, adaptive, from_z;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params (y), grads, zs, exp_avg_sqs, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(schedulefree_ctx);

PYWD_INLINE void NAME(schedulefree_loop)(real *PYWD_RESTRICT y, const real *PYWD_RESTRICT w0,
                                         const real *PYWD_RESTRICT g, real *PYWD_RESTRICT z,
                                         real *PYWD_RESTRICT v, int64_t n,
                                         const NAME(schedulefree_consts) *c, const int decay,
                                         const int adaptive, const int from_z)
{
    const real grad_mult = c->grad_mult, wd = c->wd, lr = c->lr, beta2 = c->beta2;
    const real one_minus_beta2 = c->one_minus_beta2, bc2 = c->bias_correction2;
    const real eps = c->eps, rate = c->rate, threshold = c->threshold, lerp = c->lerp;
    const real step_share = c->step_share;
    const int mode = decay & ~PYWD_DECAY_ANCHORED;
    int64_t i;
    for (i = 0; i < n; i++) {
        real yi = y[i], zi = z[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, yi, ai, wd, decay);
        real ui = gi, dz, zn;
        if (adaptive) {
            real vi = beta2 * v[i] + one_minus_beta2 * (gi * gi);
            v[i] = vi;
            ui = gi / (REAL_SQRT(vi / bc2) + eps);
        }
        if (mode == PYWD_DECAY_L1) {
            zn = NAME(decay_after)(zi - lr * ui, ai, threshold, decay);
            dz = zi - zn;
        } else {
            dz = lr * ui;
            if (mode == PYWD_DECAY_DECOUPLED || mode == PYWD_DECAY_CAUTIOUS) {
                const real x = NAME(decay_offset)(yi, ai, decay);
                real pull = rate * x;
                /* cautious: no pull where the update opposes y (1 or 0, in arithmetic) */
                if (mode == PYWD_DECAY_CAUTIOUS) pull = pull * (real)(!(ui * x < 0));
                dz = dz + pull;
            }
            zn = zi - dz;
        }
        z[i] = zn;
        y[i] = NAME(lerp)(yi, zi, lerp, from_z) - step_share * dz;
    }
}

/* The loop specialised for the call's decay, optimiser and lerp form, over n elements. */
static void NAME(schedulefree_run)(const NAME(schedulefree_ctx) *x, real *const *arg,
                                   int64_t n)
{
    real *y = arg[0], *z = arg[2], *v = arg[3];
    const real *w0 = arg[5], *g = arg[1];
#define PYWD_SF_CASE(d, a, f)                                                              \
    case ((d) * 2 + (a)) * 2 + (f):                                                        \
        NAME(schedulefree_loop)(y, w0, g, z, v, n, &x->c, d, a, f);                        \
        break;
#define PYWD_SF_CASES(d) \
    PYWD_SF_CASE(d, 0, 0) PYWD_SF_CASE(d, 0, 1) PYWD_SF_CASE(d, 1, 0) PYWD_SF_CASE(d, 1, 1)
    switch ((x->decay * 2 + x->adaptive) * 2 + x->from_z) {
        PYWD_DECAY_MODES(PYWD_SF_CASES)
    default: break;
    }
#undef PYWD_SF_CASE
#undef PYWD_SF_CASES
}

PYWD_ELEMENTWISE(schedulefree, 0xDu)

void NAME(pywd_schedulefree)(const pywd_schedulefree_hyper *h, int64_t n, real *const *params,
                             const real *const *grads, real *const *zs,
                             real *const *exp_avg_sqs, const int64_t *sizes);
void NAME(pywd_schedulefree)(const pywd_schedulefree_hyper *h, int64_t n, real *const *params,
                             const real *const *grads, real *const *zs,
                             real *const *exp_avg_sqs, const int64_t *sizes)
{
    NAME(schedulefree_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    const double c = h->average_weight;
    x.decay = d.mode;
    x.adaptive = exp_avg_sqs != 0;

    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.lr = (real)h->lr;
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.bias_correction2 = (real)(1.0 - pow(h->beta2, (double)h->step));
    x.c.eps = (real)h->eps;
    x.c.rate = (real)d.rate;
    x.c.threshold = (real)d.threshold;
    x.c.lerp = (real)pywd_lerp_form(c, &x.from_z);
    x.c.step_share = (real)(1.0 - h->beta1 * (1.0 - c));
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = zs;
    x.slot[3] = exp_avg_sqs;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(schedulefree_spans)(&x, n, sizes);
}

#undef NAME
