/* LAMB body (You et al. 2020, "Large Batch Optimization for Deep Learning"; timm's Lamb, the
 * NVIDIA FusedLAMB variant), stamped per dtype and ISA unit (kernels.h).
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
 *   r = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps)      (bc = 1 without bias correction)
 *   r = r + wd*w                                     decay "decoupled": LAMB's own rule,
 *                                                    inside the trust ratio (cautious: only
 *                                                    where r*w >= 0)
 *   phi = ||w|| / ||r|| per tensor (1 if either is 0; min(phi, 1) with trust_clip; 1 when
 *         the call does not adapt: weight_decay 0 without always_adapt)
 *   w = w*factor ("independent", "corrected": outside the ratio);  w = w - lr*(r*phi)
 *   w = sign(w)*max(|w| - lr*wd, 0)                  decay "l1"
 * Two passes per call: the norms (reading w, g, m, v: r computed as the update will, in
 * blocks whose sums do not depend on the thread count), then the update. */

typedef struct {
    real grad_mult, wd, beta1, one_minus_beta1, beta2, one_minus_beta2, bc1, sqrt_bc2, eps;
    real lr, factor, threshold;
} NAME(lamb_consts);

typedef struct {
    NAME(lamb_consts) c;
    int decay, inside; /* inside: 0, or 1 (2 cautiously): decay "decoupled" within r */
    const pywd_lowp *lowp;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *exp_avgs, *const *exp_avg_sqs;
} NAME(lamb_ctx);

/* r of one element, and its new moments in *m and *v. */
PYWD_INLINE real NAME(lamb_direction)(const NAME(lamb_consts) *c, real w, real w0, real g,
                                      real *m, real *v, const int decay, const int inside)
{
    real gi = NAME(decay_grad)(g * c->grad_mult, w, w0, c->wd, decay);
    real mi = c->beta1 * *m + c->one_minus_beta1 * gi;
    real vi = c->beta2 * *v + c->one_minus_beta2 * (gi * gi);
    real r = (mi / c->bc1) / (REAL_SQRT(vi) / c->sqrt_bc2 + c->eps);
    real x = NAME(decay_offset)(w, w0, decay), decay_term = c->wd * x;
    *m = mi;
    *v = vi;
    /* cautiously, none where r opposes w: times 0 or 1 in arithmetic (a select would keep
     * the loop scalar, as in weight_decay.h) */
    if (inside == 2) decay_term = decay_term * (real)!(r * x < 0);
    return inside ? r + decay_term : r;
}

/* r of n elements (n <= PYWD_TILE) into r, the moments left as they are. */
PYWD_INLINE void NAME(lamb_directions)(const real *PYWD_RESTRICT w,
                                       const real *PYWD_RESTRICT w0,
                                       const real *PYWD_RESTRICT g,
                                       const real *PYWD_RESTRICT m,
                                       const real *PYWD_RESTRICT v, int64_t n,
                                       const NAME(lamb_consts) *c, real *PYWD_RESTRICT r,
                                       const int decay, const int inside)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0, mi = m[i], vi = v[i];
        r[i] = NAME(lamb_direction)(c, w[i], ai, g[i], &mi, &vi, decay, inside);
    }
}

PYWD_INLINE void NAME(lamb_loop)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                 const real *PYWD_RESTRICT g, real *PYWD_RESTRICT m,
                                 real *PYWD_RESTRICT v, int64_t n,
                                 const NAME(lamb_consts) *c, real phi, const int decay,
                                 const int inside)
{
    const real lr = c->lr, factor = c->factor, threshold = c->threshold;
    int64_t i;
    for (i = 0; i < n; i++) {
        real wi = w[i], ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0, mi = m[i], vi = v[i];
        real update = lr * (NAME(lamb_direction)(c, wi, ai, g[i], &mi, &vi, decay, inside)
                            * phi);
        m[i] = mi;
        v[i] = vi;
        wi = NAME(decay_before)(wi, ai, update, factor, decay) - update;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

/* The call's cases: every decay mode outside the ratio, or decoupled decay inside it. */
#define PYWD_LAMB_SWITCH(x)                                                                  \
    do {                                                                                     \
        switch ((x)->decay * 3 + (x)->inside) {                                              \
            PYWD_DECAY_MODES(PYWD_LAMB_OUTSIDE)                                              \
            PYWD_LAMB_CASE(PYWD_DECAY_NONE, 1) PYWD_LAMB_CASE(PYWD_DECAY_NONE, 2)            \
            PYWD_LAMB_CASE(PYWD_DECAY_ANCHORED, 1) PYWD_LAMB_CASE(PYWD_DECAY_ANCHORED, 2)    \
        default: break;                                                                      \
        }                                                                                    \
    } while (0)
#define PYWD_LAMB_OUTSIDE(d) PYWD_LAMB_CASE(d, 0)

static void NAME(lamb_run_directions)(const NAME(lamb_ctx) *x, const real *w, const real *w0,
                                      const real *g, const real *m, const real *v, int64_t n,
                                      real *r)
{
#define PYWD_LAMB_CASE(d, in) \
    case (d) * 3 + (in): NAME(lamb_directions)(w, w0, g, m, v, n, &x->c, r, d, in); break;
    PYWD_LAMB_SWITCH(x);
#undef PYWD_LAMB_CASE
}

/* the update over n elements of the slots a (scaled_pass.h): params, grads, m, v, anchors */
static void NAME(lamb_run)(const void *vctx, real *const *a, int64_t n, real phi)
{
    const NAME(lamb_ctx) *x = (const NAME(lamb_ctx) *)vctx;
#define PYWD_LAMB_CASE(d, in)                                                                 \
    case (d) * 3 + (in):                                                                       \
        NAME(lamb_loop)(a[0], a[PYWD_LOWP_ARGS - 1], a[1], a[2], a[3], n, &x->c, phi, d, in);  \
        break;
    PYWD_LAMB_SWITCH(x);
#undef PYWD_LAMB_CASE
}

/* sums[0] += sum w^2, sums[1] += sum r^2 over block [begin, begin + len) of tensor t, tile
 * by tile (tiles start at multiples of PYWD_TILE, so element i keeps lane i % 16). */
static void NAME(lamb_block)(const void *vctx, int64_t t, int64_t begin, int64_t len,
                             double *sums)
{
    const NAME(lamb_ctx) *x = (const NAME(lamb_ctx) *)vctx;
    double aw[PYWD_SUM_LANES] = {0}, ar[PYWD_SUM_LANES] = {0};
    float scratch[5][PYWD_TILE];
    real r[PYWD_TILE];
    int64_t s, n;
    for (s = begin; s < begin + len; s += n) {
        const real *w, *w0 = 0;
        n = begin + len - s < PYWD_TILE ? begin + len - s : PYWD_TILE;
        w = PYWD_NORM_IN(x, 0, t, x->params[t], s, n, scratch[0]);
        if (x->anchors)
            w0 = PYWD_NORM_IN(x, PYWD_LOWP_ARGS - 1, t, x->anchors[t], s, n, scratch[4]);
        NAME(lamb_run_directions)(x, w, w0, PYWD_NORM_IN(x, 1, t, x->grads[t], s, n, scratch[1]),
                                  PYWD_NORM_IN(x, 2, t, x->exp_avgs[t], s, n, scratch[2]),
                                  PYWD_NORM_IN(x, 3, t, x->exp_avg_sqs[t], s, n, scratch[3]),
                                  n, r);
        NAME(sumsq_lanes)(w, n, 1, aw);
        NAME(sumsq_lanes)(r, n, 1, ar);
    }
    sums[0] += pywd_sum_lanes(aw);
    sums[1] += pywd_sum_lanes(ar);
}

void NAME(pywd_lamb)(const pywd_lamb_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs,
                     real *const *exp_avg_sqs, const int64_t *sizes);
void NAME(pywd_lamb)(const pywd_lamb_hyper *h, int64_t n, real *const *params,
                     const real *const *grads, real *const *exp_avgs,
                     real *const *exp_avg_sqs, const int64_t *sizes)
{
    NAME(lamb_ctx) x;
    NAME(scaled_pass) pass;
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double t = (double)h->step, *norms = h->workspace, *phi = h->workspace;
    int64_t i;
    x.inside = 0;
    x.decay = d.mode;
    if (h->decay.mode == PYWD_DECAY_DECOUPLED && d.mode != PYWD_DECAY_NONE) {
        x.inside = h->decay.cautious ? 2 : 1; /* LAMB's rule: the decay is part of r */
        x.decay = h->decay.anchors ? PYWD_DECAY_ANCHORED : PYWD_DECAY_NONE;
    }
    x.c.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x.c.wd = (real)d.wd;
    x.c.beta1 = (real)h->beta1;
    x.c.one_minus_beta1 = (real)(1.0 - h->beta1);
    x.c.beta2 = (real)h->beta2;
    x.c.one_minus_beta2 = (real)(1.0 - h->beta2);
    x.c.bc1 = (real)(h->bias_correction ? 1.0 - pow(h->beta1, t) : 1.0);
    x.c.sqrt_bc2 = (real)(h->bias_correction ? sqrt(1.0 - pow(h->beta2, t)) : 1.0);
    x.c.eps = (real)h->eps;
    x.c.lr = (real)h->lr;
    x.c.factor = (real)d.factor;
    x.c.threshold = (real)d.threshold;
    x.params = params;
    x.anchors = (const real *const *)h->decay.anchors;
    x.grads = grads;
    x.exp_avgs = exp_avgs;
    x.exp_avg_sqs = exp_avg_sqs;
    x.lowp = h->lowp;
    /* norms[2i], norms[2i+1]: tensor i's sum w^2 and r^2; then phi[i] in place (i <= 2i) */
    for (i = 0; i < 2 * n; i++) norms[i] = 0.0;
    if (!pywd_shards_in(h->decay.shards, norms, 2, 0, n) &&
        (h->decay.weight_decay != 0.0 || h->always_adapt))
        pywd_tensor_sums(n, sizes, 2, NAME(lamb_block), &x, norms);
    if (pywd_shards_out(h->decay.shards, norms, 2, 0, n)) return;
    for (i = 0; i < n; i++) {
        double w_norm = sqrt(norms[2 * i]), r_norm = sqrt(norms[2 * i + 1]);
        double ratio = w_norm > 0.0 && r_norm > 0.0 ? w_norm / r_norm : 1.0;
        phi[i] = h->trust_clip && ratio > 1.0 ? 1.0 : ratio;
    }
    pass.x = &x;
    pass.run = NAME(lamb_run);
    pass.lowp = x.lowp;
    pass.writes = 0xDu; /* params, m, v */
    pass.slot[0] = params;
    pass.slot[1] = (real *const *)grads;
    pass.slot[2] = exp_avgs;
    pass.slot[3] = exp_avg_sqs;
    pass.slot[4] = 0;
    pass.slot[PYWD_LOWP_ARGS - 1] = (real *const *)x.anchors;
    pass.phi = phi;
    NAME(run_scaled_pass)(&pass, n, sizes);
}

#undef PYWD_LAMB_SWITCH
#undef PYWD_LAMB_OUTSIDE
