/* Muon's element-wise halves (Jordan et al. 2024; torch.optim.Muon's order), stamped per dtype
 * and ISA by muon.c and muon_avx2.c; the Newton-Schulz orthogonalisation between them is
 * BLAS's (the caller's).
 * momentum:  g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *            b = lerp(b, g, 1 - momentum)
 *            u = lerp(g, b, momentum) (nesterov) or b     the orthogonalisation's input
 * apply:     w = w*(1 - lr*wd) | ... (the multiplicative decays, with the unadjusted lr);
 *            w = w - step_size*o                          o: the orthogonalised u
 *            w = sign(w)*max(|w| - lr*wd, 0)              decay "l1"
 * lerp as torch's (lerp.h). */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "lowp.h"
#include "weight_decay.h"
#include "elementwise.h"
#include "lerp.h"

typedef struct {
    real grad_mult, wd, keep, pull; /* keep: 1 - momentum's lerp weight; pull: momentum's */
} NAME(muon_momentum_consts);

typedef struct {
    NAME(muon_momentum_consts) c;
    int decay, nesterov, keep_near_end, pull_near_end;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params (read), grads, bufs, updates, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(muon_momentum_ctx);

PYWD_INLINE void NAME(muon_momentum_loop)(const real *PYWD_RESTRICT w,
                                          const real *PYWD_RESTRICT w0,
                                          const real *PYWD_RESTRICT g, real *PYWD_RESTRICT b,
                                          real *PYWD_RESTRICT u, int64_t n,
                                          const NAME(muon_momentum_consts) *c, const int decay,
                                          const int nesterov, const int keep_near_end,
                                          const int pull_near_end)
{
    const real grad_mult = c->grad_mult, wd = c->wd, keep = c->keep, pull = c->pull;
    int64_t i;
    for (i = 0; i < n; i++) {
        real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, w[i], ai, wd, decay);
        real bi = NAME(lerp)(b[i], gi, keep, keep_near_end);
        b[i] = bi;
        u[i] = nesterov ? NAME(lerp)(gi, bi, pull, pull_near_end) : bi;
    }
}

static void NAME(muon_momentum_run)(const NAME(muon_momentum_ctx) *x, real *const *arg,
                                    int64_t n)
{
    const real *w = arg[0], *w0 = arg[5], *g = arg[1];
    real *b = arg[2], *u = arg[3];
    /* only "l2" (and no decay) reach the loop: the other modes act in the apply half */
    const int decay = (x->decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2 ? x->decay : 0;
#define PYWD_MUON_CASE(d, nv, k, p)                                                        \
    case ((((d) * 2 + (nv)) * 2 + (k)) * 2 + (p)):                                         \
        NAME(muon_momentum_loop)(w, w0, g, b, u, n, &x->c, d, nv, k, p);                   \
        break;
#define PYWD_MUON_CASES(d, nv)                                                             \
    PYWD_MUON_CASE(d, nv, 0, 0) PYWD_MUON_CASE(d, nv, 0, 1) PYWD_MUON_CASE(d, nv, 1, 0)    \
    PYWD_MUON_CASE(d, nv, 1, 1)
    switch (((decay * 2 + x->nesterov) * 2 + x->keep_near_end) * 2 + x->pull_near_end) {
        PYWD_MUON_CASES(PYWD_DECAY_NONE, 0) PYWD_MUON_CASES(PYWD_DECAY_NONE, 1)
        PYWD_MUON_CASES(PYWD_DECAY_L2, 0) PYWD_MUON_CASES(PYWD_DECAY_L2, 1)
        PYWD_MUON_CASES(PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED, 0)
        PYWD_MUON_CASES(PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED, 1)
    default: break;
    }
#undef PYWD_MUON_CASE
#undef PYWD_MUON_CASES
}

PYWD_ELEMENTWISE(muon_momentum, 0xCu)

typedef struct {
    real step_size, factor, threshold;
} NAME(muon_apply_consts);

typedef struct {
    NAME(muon_apply_consts) c;
    int decay;
    const pywd_lowp *lowp;
    /* per argument slot (elementwise.h): params, updates (read), -, -, -, decay_to */
    real *const *slot[PYWD_LOWP_ARGS];
} NAME(muon_apply_ctx);

PYWD_INLINE void NAME(muon_apply_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                       const real *PYWD_RESTRICT o, int64_t n,
                                       const NAME(muon_apply_consts) *c, const int decay)
{
    const real step_size = c->step_size, factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real step = step_size * o[i];
        real wi = NAME(decay_before)(w[i], ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

static void NAME(muon_apply_run)(const NAME(muon_apply_ctx) *x, real *const *arg, int64_t n)
{
    real *w = arg[0];
    const real *w0 = arg[5], *o = arg[1];
#define PYWD_MUON_APPLY_CASE(d) case (d): NAME(muon_apply_loop)(w, w0, o, n, &x->c, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_MUON_APPLY_CASE)
    default: break;
    }
#undef PYWD_MUON_APPLY_CASE
}

PYWD_ELEMENTWISE(muon_apply, 0x1u)

void NAME(pywd_muon_momentum)(const pywd_muon_hyper *h, int64_t n, const real *const *params,
                              const real *const *grads, real *const *bufs,
                              real *const *updates, const int64_t *sizes);
void NAME(pywd_muon_momentum)(const pywd_muon_hyper *h, int64_t n, const real *const *params,
                              const real *const *grads, real *const *bufs,
                              real *const *updates, const int64_t *sizes)
{
    NAME(muon_momentum_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    x.decay = d.mode;
    x.nesterov = h->nesterov != 0;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.keep = (real)pywd_lerp_form(1.0 - h->momentum, &x.keep_near_end);
    x.c.pull = (real)pywd_lerp_form(h->momentum, &x.pull_near_end);
    x.slot[0] = (real *const *)params;
    x.slot[1] = (real *const *)grads;
    x.slot[2] = bufs;
    x.slot[3] = updates;
    x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(muon_momentum_spans)(&x, n, sizes);
}

void NAME(pywd_muon_apply)(const pywd_muon_hyper *h, int64_t n, real *const *params,
                           const real *const *updates, const int64_t *sizes);
void NAME(pywd_muon_apply)(const pywd_muon_hyper *h, int64_t n, real *const *params,
                           const real *const *updates, const int64_t *sizes)
{
    NAME(muon_apply_ctx) x;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    /* "l2" acted in the momentum half */
    x.decay = (d.mode & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2 ? PYWD_DECAY_NONE : d.mode;
    x.c.step_size = (real)h->step_size;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.slot[0] = params;
    x.slot[1] = (real *const *)updates;
    x.slot[2] = x.slot[3] = x.slot[4] = 0;
    x.slot[5] = (real *const *)h->decay.anchors;
    x.lowp = h->lowp;
    NAME(muon_apply_spans)(&x, n, sizes);
}

#undef NAME
