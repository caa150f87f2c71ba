/* SGD family body, stamped per dtype and ISA by sgd.c and sgd_avx2.c (`real`, PYWD_SUFFIX).
 *
 * Per element, in this order (torch.optim.SGD's single-tensor algorithm, docs/design.md's table):
 *   g  = g*grad_mult, negated if maximize  (loss scale, clipping)
 *   g  = g + wd*w                      decay "l2"
 *   b  = g                             first momentum step (torch clones the gradient)
 *   b  = momentum*b + (1-dampening)*g  later steps
 *   u  = g + momentum*b (nesterov) | b (momentum) | g (plain)
 *   w  = w*(1-lr*wd)                   decay "decoupled";  w*(1-wd) for "independent"
 *   w  = w - lr*u
 *   w  = sign(w)*max(|w| - lr*wd, 0)   decay "l1" (proximal soft threshold)
 * Scalars are rounded to `real` once per call, as NumPy rounds a Python float to the
 * array's dtype, so each operation rounds exactly like pywd/reference.py's. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"

enum { NAME(MOM_NONE) = 0, NAME(MOM_HEAVY_BALL) = 1, NAME(MOM_NESTEROV) = 2 };

typedef struct {
    real grad_mult, lr, wd, momentum, one_minus_dampening, factor, threshold;
} NAME(sgd_consts);

typedef struct {
    NAME(sgd_consts) c;
    int decay, mom, first;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, grads, bufs, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(sgd_ctx);

/* One loop per combination of the integer flags: callers pass them as literals, so after
 * inlining every `if` on them is folded away and each loop vectorises without branches. */
PYWD_INLINE void NAME(sgd_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                const real *PYWD_RESTRICT g, real *PYWD_RESTRICT buf,
                                int64_t n, const NAME(sgd_consts) *c,
                                const int decay, const int mom, const int first)
{
    const real grad_mult = c->grad_mult, lr = c->lr, wd = c->wd, momentum = c->momentum;
    const real one_minus_dampening = c->one_minus_dampening, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], step, ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay);
        real u = gi;
        if (mom != NAME(MOM_NONE)) {
            real b = first ? gi : momentum * buf[i] + one_minus_dampening * gi;
            buf[i] = b;
            u = (mom == NAME(MOM_NESTEROV)) ? gi + momentum * b : b;
        }
        step = lr * u;
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's flags, over n elements. */
static void NAME(sgd_run)(const NAME(sgd_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0], *b = arg[2];
    const real *w0 = arg[5], *g = arg[1];
    const NAME(sgd_consts) *c = &x->c;
#define PYWD_SGD_CASE(d, m, f) \
    case (d) * 6 + (m) * 2 + (f): NAME(sgd_loop)(w, w0, g, b, n, c, d, m, f); break;
#define PYWD_SGD_CASES_M(d, m) PYWD_SGD_CASE(d, m, 0) PYWD_SGD_CASE(d, m, 1)
#define PYWD_SGD_CASES_D(d) PYWD_SGD_CASES_M(d, 0) PYWD_SGD_CASES_M(d, 1) PYWD_SGD_CASES_M(d, 2)
    switch (x->decay * 6 + x->mom * 2 + x->first) {
        PYWD_DECAY_MODES(PYWD_SGD_CASES_D)
    default: break; /* unreachable: pywd_sgd_* normalises the flags */
    }
#undef PYWD_SGD_CASE
#undef PYWD_SGD_CASES_M
#undef PYWD_SGD_CASES_D
}

PYWD_ELEMENTWISE(sgd, 0x5u)

void NAME(pywd_sgd)(const pywd_sgd_hyper *h, int64_t n, real *const *params,
                    const real *const *grads, real *const *bufs, const int64_t *sizes);
void NAME(pywd_sgd)(const pywd_sgd_hyper *h, int64_t n, real *const *params,
                    const real *const *grads, real *const *bufs, const int64_t *sizes)
{
    NAME(sgd_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.mom = h->momentum == 0.0 ? NAME(MOM_NONE) : h->nesterov ? NAME(MOM_NESTEROV) : NAME(MOM_HEAVY_BALL);
    x.first = x.mom != NAME(MOM_NONE) && h->first_step;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.lr = (real)h->lr;
    x.c.wd = (real)d.wd;
    x.c.momentum = (real)h->momentum;
    x.c.one_minus_dampening = (real)(1.0 - h->dampening);
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = x.mom != NAME(MOM_NONE) ? bufs : 0;
    x.slot[3] = 0;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(sgd_spans)(&x, n, sizes);
}

#undef NAME
