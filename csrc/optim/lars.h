/* LARS body (You et al. 2017, "Large Batch Training of Convolutional Networks"; timm's Lars,
 * with NVIDIA APEX's LARC clipping), stamped per dtype and ISA unit (kernels.h).
 *   g = g*grad_mult (negated if maximize)
 *   phi = trust_coeff*||w|| / (||g|| + wd*||w|| + eps) per tensor (1 if ||w|| or ||g|| is 0;
 *         min(phi/lr, 1) with trust_clip; 1 when the call does not adapt: weight_decay 0
 *         without always_adapt); the wd*||w|| term with decay "l2" only
 *   g = (g + wd*w)*phi                 decay "l2" (LARS's rule: inside the ratio), else g*phi
 *   b = g (first step) | momentum*b + (1-dampening)*g;  u = g + momentum*b | b | g
 *   w = w*factor (the multiplicative modes, outside the ratio);  w = w - lr*u
 *   w = sign(w)*max(|w| - lr*wd, 0)    decay "l1"
 * Two passes per call: the norms (in blocks whose sums do not depend on the thread count),
 * then the update. With an anchor w0, "l2" uses w - w0 and ||w - w0|| for w and ||w||. */

enum { NAME(LARS_PLAIN) = 0, NAME(LARS_HEAVY_BALL) = 1, NAME(LARS_NESTEROV) = 2 };

typedef struct {
    real grad_mult, lr, wd, momentum, one_minus_dampening, factor, threshold;
} NAME(lars_consts);

typedef struct {
    NAME(lars_consts) c;
    int decay, mom, first;
    const pywd_lowp *lowp;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *bufs;
} NAME(lars_ctx);

PYWD_INLINE void NAME(lars_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                 const real *PYWD_RESTRICT g, real *PYWD_RESTRICT buf,
                                 int64_t n, const NAME(lars_consts) *c, real phi,
                                 const int decay, const int mom, const int first)
{
    const real grad_mult = c->grad_mult, lr = c->lr, wd = c->wd, momentum = c->momentum;
    const real one_minus_dampening = c->one_minus_dampening, factor = c->factor;
    const real threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], step, ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        real gi = NAME(decay_grad)(g[i] * grad_mult, wi, ai, wd, decay) * phi;
        real u = gi;
        if (mom != NAME(LARS_PLAIN)) {
            real b = first ? gi : momentum * buf[i] + one_minus_dampening * gi;
            buf[i] = b;
            u = (mom == NAME(LARS_NESTEROV)) ? gi + momentum * b : b;
        }
        step = lr * u;
        wi = NAME(decay_before)(wi, ai, step, factor, decay) - step;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The loop specialised for the call's flags, over n elements of the slots a
 * (scaled_pass.h): params, grads, momentum buffers, anchors. */
static void NAME(lars_run)(const void *vctx, real *const *a, int64_t n, real phi)
{
    const NAME(lars_ctx) *x = (const NAME(lars_ctx) *)vctx;
    const NAME(lars_consts) *c = &x->c;
    real *w = a[0], *b = a[2];
    const real *w0 = a[PYWD_LOWP_ARGS - 1], *g = a[1];
#define PYWD_LARS_CASE(d, m, f) \
    case (d) * 6 + (m) * 2 + (f): NAME(lars_loop)(w, w0, g, b, n, c, phi, d, m, f); break;
#define PYWD_LARS_CASES_M(d, m) PYWD_LARS_CASE(d, m, 0) PYWD_LARS_CASE(d, m, 1)
#define PYWD_LARS_CASES_D(d) \
    PYWD_LARS_CASES_M(d, 0) PYWD_LARS_CASES_M(d, 1) PYWD_LARS_CASES_M(d, 2)
    switch (x->decay * 6 + x->mom * 2 + x->first) {
        PYWD_DECAY_MODES(PYWD_LARS_CASES_D)
    default: break;
    }
#undef PYWD_LARS_CASE
#undef PYWD_LARS_CASES_M
#undef PYWD_LARS_CASES_D
}

/* sums[0..3) += sum w^2, sum (g*grad_mult)^2, sum (w - w0)^2 (anchored "l2" only) over
 * block [begin, begin + len) of tensor t, tile by tile (element i keeps lane i % 16). */
static void NAME(lars_block)(const void *vctx, int64_t t, int64_t begin, int64_t len,
                             double *sums)
{
    const NAME(lars_ctx) *x = (const NAME(lars_ctx) *)vctx;
    const int offset = x->anchors && (x->decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2;
    double aw[PYWD_SUM_LANES] = {0}, ag[PYWD_SUM_LANES] = {0}, ax[PYWD_SUM_LANES] = {0};
    float scratch[3][PYWD_TILE];
    real diff[PYWD_TILE];
    int64_t s, n, i;
    for (s = begin; s < begin + len; s += n) {
        const real *w;
        n = begin + len - s < PYWD_TILE ? begin + len - s : PYWD_TILE;
        w = PYWD_NORM_IN(x, 0, t, x->params[t], s, n, scratch[0]);
        NAME(sumsq_lanes)(w, n, 1, aw);
        NAME(sumsq_lanes)(PYWD_NORM_IN(x, 1, t, x->grads[t], s, n, scratch[1]), n,
                         x->c.grad_mult, ag);
        if (offset) {
            const real *w0 = PYWD_NORM_IN(x, PYWD_LOWP_ARGS - 1, t, x->anchors[t], s, n,
                                          scratch[2]);
            for (i = 0; i < n; i++) diff[i] = w[i] - w0[i];
            NAME(sumsq_lanes)(diff, n, 1, ax);
        }
    }
    sums[0] += pywd_sum_lanes(aw);
    sums[1] += pywd_sum_lanes(ag);
    sums[2] += pywd_sum_lanes(ax);
}

void NAME(pywd_lars)(const pywd_lars_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *bufs, const int64_t *sizes);
void NAME(pywd_lars)(const pywd_lars_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *bufs, const int64_t *sizes)
{
    NAME(lars_ctx) x;
    NAME(scaled_pass) pass;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double *norms = h->workspace, *phi = h->workspace;
    const int l2 = (d.mode & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2;
    int64_t i;
    x.decay = d.mode;
    x.mom = h->momentum == 0.0 ? NAME(LARS_PLAIN)
            : h->nesterov      ? NAME(LARS_NESTEROV)
                               : NAME(LARS_HEAVY_BALL);
    x.first = x.mom != NAME(LARS_PLAIN) && h->first_step;
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.lr = (real)h->lr;
    x.c.wd = (real)d.wd;
    x.c.momentum = (real)h->momentum;
    x.c.one_minus_dampening = (real)(1.0 - h->dampening);
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.bufs = x.mom != NAME(LARS_PLAIN) ? bufs : 0;
    x.lowp = h->lowp;
    /* norms[3i..3i+3): tensor i's sums; then phi[i] in place (i <= 3i: read before written) */
    for (i = 0; i < 3 * n; i++) norms[i] = 0.0;
    if (!pywd_shards_in(h->decay.shards, norms, 3, 0, n) &&
        (h->decay.weight_decay != 0.0 || h->always_adapt))
        pywd_tensor_sums(n, sizes, 3, NAME(lars_block), &x, norms);
    if (pywd_shards_out(h->decay.shards, norms, 3, 0, n)) return;
    for (i = 0; i < n; i++) {
        double w_norm = sqrt(norms[3 * i]), g_norm = sqrt(norms[3 * i + 1]);
        double penalty = !l2 ? 0.0 : x.anchors ? sqrt(norms[3 * i + 2]) : w_norm;
        double ratio = w_norm > 0.0 && g_norm > 0.0
                           ? h->trust_coeff * w_norm / (g_norm + d.wd * penalty + h->eps)
                           : 1.0;
        if (!(h->decay.weight_decay != 0.0 || h->always_adapt)) ratio = 1.0;
        else if (h->trust_clip) ratio = ratio / h->lr > 1.0 ? 1.0 : ratio / h->lr;
        phi[i] = ratio;
    }
    pass.x = &x;
    pass.run = NAME(lars_run);
    pass.lowp = x.lowp;
    pass.writes = 0x5u; /* params, momentum buffers */
    pass.slot[0] = params;
    pass.slot[1] = (real *const *)grads;
    pass.slot[2] = x.bufs;
    pass.slot[3] = pass.slot[4] = 0;
    pass.slot[PYWD_LOWP_ARGS - 1] = (real *const *)x.anchors;
    pass.phi = phi;
    NAME(run_scaled_pass)(&pass, n, sizes);
}
