/* The driver of the element-wise optimisers: everything but their math, written once.
 *
 * An element-wise optimiser OPT is one math file (csrc/optim/OPT.h) that defines, stamped per
 * dtype and ISA unit like every body (NAME and `real` are the includer's):
 *   NAME(OPT_consts)    its per-call constants, as `real`
 *   int NAME(OPT_setup)(NAME(OPT_consts) *c, pywd_decay_consts *d, const pywd_OPT_hyper *h)
 *                       computes them from the hyper-parameters, sets *d (pywd_decay_setup at
 *                       the lr its decay uses) and returns the call's variant: which of its
 *                       loops runs, 0 .. variants - 1 (csrc/optim/list.h), or -1: nothing to do
 *   unsigned NAME(OPT_reads)(v), NAME(OPT_writes)(v)
 *                       the array slots variant v reads and writes, a bit per slot
 *                       (0 params, 1 grads, 2..4 state; a state slot is read and written)
 *   real NAME(OPT_element)(const NAME(OPT_consts) *c, const NAME(decay_reals) *k, real w,
 *                          real a, real g, real *s, const int decay, const int v)
 *                       one element's step: its weight w, anchor a (0 without decay_to) and
 *                       gradient g (grad_mult and decay "l2" applied); s[2..4] the values of
 *                       its state slots, updated in place; returns the new weight. `decay`
 *                       and v are literals after inlining, so each loop holds only its terms.
 * PYWD_OPTIMISER(OPT, variants) then defines the loop (the only place a slot is loaded or
 * stored), its specialisation per decay mode and variant, the spans and 16-bit tiles, and the
 * entry point NAME(pywd_OPT)(h, n, slots, sizes): slots[k] the per-tensor pointers of slot k
 * (NULL for a slot the call has not), the anchors from h->decay. Every hyper-parameter struct
 * starts with grad_mult and has decay, maximize and lowp (pywd.h).
 * PYWD_CAUTIOUS_OPTIMISER(OPT, variants) is the same for an optimiser whose step does not
 * depend on w (OPT_element at w = 0 without decay returns -step): it takes h->decay.caution
 * too, timm's cautious update. A first pass counts per tensor the elements whose step has
 * the gradient's sign (the element on copies of its state; fixed blocks, so the counts do
 * not depend on the thread count); the update pass then subtracts step * (step*g > 0) *
 * phi, phi = 1 / max(count / size, 1e-3), with the decay applied as without caution.
 * With h->decay.stats, the update pass runs by the fixed blocks of pywd_tensor_sums, tile by
 * tile, and adds each tensor's step statistics (step_sums below) from the weights before and
 * after each tile: the same loops, and sums that do not depend on the thread count.
 * With h->decay.norm_targets (weight-norm control) and a multiplicative decay, a first pass
 * sums each tensor's squared weights, and each tensor's loops take its own decay rate and
 * factor (pywd_norm_rate); with target 0 those are the call's, bit for bit.
 * To see what a driver line expands to: gcc -E -P -Icsrc csrc/unit_baseline.c. */
#undef PYWD_OPTIMISER_LOWP
#undef PYWD_OPTIMISER_SPANS
#undef PYWD_OPTIMISER_STATS_LOWP
#undef PYWD_STEP_SUMS
#undef PYWD_STEP_LANES

/* The decay's constants and the gradient's multiplier, as `real`: every optimiser's. */
typedef struct {
    real grad_mult, wd, factor, threshold, rate;
} NAME(decay_reals);

/* w after a step that subtracts `step`, with the multiplicative decays before it and the
 * proximal one after (the order of docs/design.md's table). */
PYWD_INLINE real NAME(apply_step)(real w, real a, real step, const NAME(decay_reals) *k,
                                  const int decay)
{
    w = NAME(decay_before)(w, a, step, k->factor, decay) - step;
    return NAME(decay_after)(w, a, k->threshold, decay);
}

/* CASE(opt, nv, d, v) for each variant v < nv (the counts csrc/optim/list.h uses) */
#define PYWD_VARIANTS_1(CASE, opt, nv, d) CASE(opt, nv, d, 0)
#define PYWD_VARIANTS_2(CASE, opt, nv, d) PYWD_VARIANTS_1(CASE, opt, nv, d) CASE(opt, nv, d, 1)
#define PYWD_VARIANTS_4(CASE, opt, nv, d) \
    PYWD_VARIANTS_2(CASE, opt, nv, d) CASE(opt, nv, d, 2) CASE(opt, nv, d, 3)
#define PYWD_VARIANTS_6(CASE, opt, nv, d) \
    PYWD_VARIANTS_4(CASE, opt, nv, d) CASE(opt, nv, d, 4) CASE(opt, nv, d, 5)
#define PYWD_VARIANTS_8(CASE, opt, nv, d) \
    PYWD_VARIANTS_6(CASE, opt, nv, d) CASE(opt, nv, d, 6) CASE(opt, nv, d, 7)

/* The statistics of a step, per tensor (pywd.StepStats reads them): the sums of o^2,
 * (w - o)^2, o*(w - o) and c^2, o and w a weight before and after the step and c the
 * displacement the decay alone makes from o: rate*x for the multiplicative modes (x = o, or
 * o - w0 with an anchor; before cautious decay withholds any), min(|x|, lr*wd) for "l1",
 * lr*wd*x for "l2" (its size before the optimiser transforms it). Per tile (<=
 * PYWD_STATS_TILE elements) in `real` by lanes, then added in double: a few operations per
 * element, where summing in double cost 0.45 ns per element (measured, Zen 4). Without an
 * anchor or "l1", sum c^2 is rate^2 * sum o^2, not summed. */
#define PYWD_STEP_SUMS 4
/* the tiles of a float32 or float64 call's statistics (16-bit storage: lowp.h's tiles):
 * larger than PYWD_TILE, so that each tile's fixed costs (a copy, a dispatch, zeroed
 * lanes) spread over more elements; the copy (8 KB in float32) stays in L1. (In cache on
 * Zen 4, one thread: 0.18 ns per element for the statistics, against 0.25 with 512-element
 * tiles; 4096 was slower again.) */
#undef PYWD_STATS_TILE
#define PYWD_STATS_TILE 2048
#define PYWD_STEP_LANES (2 * PYWD_SUM_LANES) /* two chains per sum: half the add latency */

/* a block's running sums, by lane, in double (added once per block into its sums) */
typedef struct {
    double lane[PYWD_STEP_SUMS][PYWD_STEP_LANES];
} NAME(step_acc);

PYWD_INLINE void NAME(step_sums_loop)(const real *o, const real *w, const real *w0, int64_t n,
                                      real scale, real threshold, const int per_element,
                                      const int anchored, const int l1, NAME(step_acc) *acc)
{
    real tile[PYWD_STEP_SUMS][PYWD_STEP_LANES] = {{0}};
    int64_t i = 0;
    int j, q;
#define PYWD_STEP_SUMS_ADD(e, lane)                                                          \
    do {                                                                                       \
        const real oi = o[e], d = w[e] - oi;                                                   \
        tile[0][lane] += oi * oi;                                                              \
        tile[1][lane] += d * d;                                                                \
        tile[2][lane] += oi * d;                                                               \
        if (per_element) {                                                                     \
            const real x = anchored ? oi - w0[e] : oi, ax = REAL_FABS(x);                      \
            const real c = l1 ? (ax < threshold ? ax : threshold) : scale * x;                 \
            tile[3][lane] += c * c;                                                            \
        }                                                                                      \
    } while (0)
    /* whole groups of lanes (a loop of constant length: vectorised), then the tail */
    for (; i + PYWD_STEP_LANES <= n; i += PYWD_STEP_LANES)
        for (j = 0; j < PYWD_STEP_LANES; j++) PYWD_STEP_SUMS_ADD(i + j, j);
    for (j = 0; i + j < n; j++) PYWD_STEP_SUMS_ADD(i + j, j);
#undef PYWD_STEP_SUMS_ADD
    /* c = scale * o: sum c^2 = scale^2 * sum o^2, without a per-element sum */
    if (!per_element)
        for (j = 0; j < PYWD_STEP_LANES; j++) tile[3][j] = scale * scale * tile[0][j];
    for (q = 0; q < PYWD_STEP_SUMS; q++)
        for (j = 0; j < PYWD_STEP_LANES; j++) acc->lane[q][j] += (double)tile[q][j];
}

/* A tile's statistics (<= PYWD_STATS_TILE elements) into acc */
static void NAME(step_sums)(const real *o, const real *w, const real *w0, int64_t n,
                            const NAME(decay_reals) *k, int decay, NAME(step_acc) *acc)
{
    const int mode = decay & ~PYWD_DECAY_ANCHORED, l1 = mode == PYWD_DECAY_L1;
    const real scale = mode == PYWD_DECAY_DECOUPLED || mode == PYWD_DECAY_CAUTIOUS
                           ? k->rate
                           : mode == PYWD_DECAY_NONE ? (real)0 : k->threshold;
    if (decay & PYWD_DECAY_ANCHORED) {
        if (l1) NAME(step_sums_loop)(o, w, w0, n, scale, k->threshold, 1, 1, 1, acc);
        else NAME(step_sums_loop)(o, w, w0, n, scale, k->threshold, 1, 1, 0, acc);
    } else if (l1) {
        NAME(step_sums_loop)(o, w, w0, n, scale, k->threshold, 1, 0, 1, acc);
    } else {
        NAME(step_sums_loop)(o, w, w0, n, scale, k->threshold, 0, 0, 0, acc);
    }
}

/* a block's running sums into its sums (the second chain onto the first, then pairwise) */
static void NAME(step_sums_add)(NAME(step_acc) *acc, double *sums)
{
    int q, j;
    for (q = 0; q < PYWD_STEP_SUMS; q++) {
        for (j = 0; j < PYWD_SUM_LANES; j++) acc->lane[q][j] += acc->lane[q][j + PYWD_SUM_LANES];
        sums[q] += pywd_sum_lanes(acc->lane[q]);
    }
}

/* Weight-norm control's first pass: sums[0] += the squares of block [begin, begin + len) of
 * tensor t's weights (16-bit storage widened), by tiles, in pywd_tensor_sums' order. */
typedef struct {
    const pywd_lowp *lowp;
    real *const *w;
} NAME(weights_view);

static void NAME(weight_sumsq_block)(const void *vctx, int64_t t, int64_t begin, int64_t len,
                                     double *sums)
{
    const NAME(weights_view) *x = (const NAME(weights_view) *)vctx;
    double acc[PYWD_SUM_LANES] = {0};
    float scratch[PYWD_TILE];
    int64_t s, n;
    for (s = begin; s < begin + len; s += n) {
        n = begin + len - s < PYWD_TILE ? begin + len - s : PYWD_TILE;
        NAME(sumsq_lanes)(PYWD_NORM_IN(x, 0, t, x->w[t], s, n, scratch), n, 1, acc);
    }
    sums[0] += pywd_sum_lanes(acc);
}

/* Under weight-norm control, rates[t] = tensor t's decay rate (pywd_norm_rate), from the
 * norms of its weights before the step; the call's mode is multiplicative. */
static void NAME(norm_rates)(const pywd_decay *decay, double rate, const pywd_lowp *lowp,
                             real *const *w, int64_t n, const int64_t *sizes)
{
    NAME(weights_view) view;
    double *rates = decay->norm_rates;
    int64_t t;
    view.lowp = lowp;
    view.w = w;
    for (t = 0; t < n; t++) rates[t] = 0.0;
    if (!pywd_shards_in(decay->shards, rates, 1, 2, n))
        pywd_tensor_sums(n, sizes, 1, NAME(weight_sumsq_block), &view, rates);
    pywd_shards_out(decay->shards, rates, 1, 2, n); /* (the caller then returns) */
    for (t = 0; t < n; t++)
        rates[t] = pywd_norm_rate(rate, decay->norm_targets[t], sqrt(rates[t]));
}

/* A tensor's scale under caution (1 without). */
#define PYWD_CAUTION_PHI(x, t) ((x)->phi ? (real)(x)->phi[t] : (real)1)

#if REAL_IS_DOUBLE
#define PYWD_OPTIMISER_LOWP(opt)
#else
#define PYWD_OPTIMISER_LOWP(opt)                                                              \
    typedef struct {                                                                           \
        const NAME(opt##_ctx) *x;                                                              \
        real phi;                                                                              \
        NAME(step_acc) *acc; /* the statistics' running sums, or NULL */                       \
    } NAME(opt##_tile_ctx);                                                                    \
    static void NAME(opt##_tile)(const void *vctx, float *const *a, int64_t n)                \
    {                                                                                          \
        const NAME(opt##_tile_ctx) *tc = (const NAME(opt##_tile_ctx) *)vctx;                   \
        float old[PYWD_TILE];                                                                  \
        if (tc->acc) memcpy(old, a[0], (size_t)n * sizeof(float));                             \
        NAME(opt##_run)(tc->x, a, n, tc->phi);                                                 \
        if (tc->acc)                                                                           \
            NAME(step_sums)(old, a[0], a[PYWD_LOWP_ARGS - 1], n, &tc->x->k, tc->x->decay,      \
                            tc->acc);                                                          \
    }                                                                                          \
    static void NAME(opt##_lowp_range)(const NAME(opt##_ctx) *x, int64_t t, int64_t begin,    \
                                       int64_t end, NAME(step_acc) *acc)                       \
    {                                                                                          \
        NAME(opt##_tile_ctx) tc;                                                               \
        tc.x = x;                                                                              \
        tc.phi = PYWD_CAUTION_PHI(x, t);                                                       \
        tc.acc = acc;                                                                          \
        pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, (void *const *const *)x->slot,                 \
                       NAME(opt##_writes)(x->variant), t, begin, end, NAME(opt##_tile), &tc);  \
    }                                                                                          \
    static void NAME(opt##_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)\
    {                                                                                          \
        NAME(opt##_ctx) local;                                                                 \
        NAME(opt##_lowp_range)(NAME(opt##_of_tensor)((const NAME(opt##_ctx) *)vctx, t, &local),\
                               t, begin, end, 0);                                              \
    }
#endif

#define PYWD_OPTIMISER(opt, variants) PYWD_OPTIMISER_BODY(opt, variants, 0)
#define PYWD_CAUTIOUS_OPTIMISER(opt, variants) PYWD_OPTIMISER_BODY(opt, variants, 1)

#define PYWD_OPTIMISER_BODY(opt, variants, cautious)                                          \
    typedef struct {                                                                           \
        NAME(opt##_consts) c;                                                                  \
        NAME(decay_reals) k;                                                                   \
        int decay, variant;                                                                    \
        const pywd_lowp *lowp;                                                                 \
        real *const *slot[PYWD_LOWP_ARGS]; /* per slot; the last: the decay's anchors */       \
        const double *phi;                 /* per tensor, caution's scale; NULL: none */       \
        const double *rates; /* per tensor, the decay's rate (norm control); NULL: k's */      \
    } NAME(opt##_ctx);                                                                         \
                                                                                               \
    /* x, or under weight-norm control a copy in `local` with tensor t's decay */              \
    static inline const NAME(opt##_ctx) *NAME(opt##_of_tensor)(const NAME(opt##_ctx) *x,     \
                                                             int64_t t,                        \
                                                             NAME(opt##_ctx) *local)           \
    {                                                                                          \
        if (!x->rates) return x;                                                               \
        *local = *x;                                                                           \
        local->k.rate = (real)x->rates[t];                                                     \
        local->k.factor = (real)(1.0 - x->rates[t]);                                           \
        return local;                                                                          \
    }                                                                                          \
                                                                                               \
    /* caution (a literal): the step kept where it has g's sign, times phi */                  \
    PYWD_INLINE void NAME(opt##_loop)(                                                         \
        const NAME(opt##_ctx) *x, real *PYWD_RESTRICT w, const real *PYWD_RESTRICT g,          \
        real *PYWD_RESTRICT s2, real *PYWD_RESTRICT s3, real *PYWD_RESTRICT s4,                \
        const real *PYWD_RESTRICT w0, int64_t n, const int decay, const int v,                 \
        const int caution, const real phi)                                                     \
    {                                                                                          \
        /* copies: a store through w cannot change them, so they stay in registers */          \
        const NAME(opt##_consts) c = x->c;                                                     \
        const NAME(decay_reals) k = x->k;                                                      \
        const unsigned reads = NAME(opt##_reads)(v), writes = NAME(opt##_writes)(v);           \
        int64_t i;                                                                             \
        for (i = 0; i < n; i++) {                                                              \
            real s[PYWD_SLOT_COUNT], wi = w[i];                                                \
            real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;                               \
            real gi = (reads & 2u) ? NAME(decay_grad)(g[i] * k.grad_mult, wi, ai, k.wd, decay) \
                                   : 0;                                                        \
            s[2] = (reads & 4u) ? s2[i] : 0;                                                   \
            s[3] = (reads & 8u) ? s3[i] : 0;                                                   \
            s[4] = (reads & 16u) ? s4[i] : 0;                                                  \
            if (caution) {                                                                     \
                /* -step (the element at w = 0, no decay); kept in arithmetic, so that a NaN   \
                 * step stays NaN (times 0), as timm's mask multiplies it */                   \
                const real probe = NAME(opt##_element)(&c, &k, 0, 0, gi, s, PYWD_DECAY_NONE, v);\
                wi = NAME(apply_step)(wi, ai, -probe * ((real)(probe * gi < 0) * phi), &k,     \
                                      decay);                                                  \
            } else {                                                                           \
                wi = NAME(opt##_element)(&c, &k, wi, ai, gi, s, decay, v);                     \
            }                                                                                  \
            if (writes & 1u) w[i] = wi;                                                        \
            if (writes & 4u) s2[i] = s[2];                                                     \
            if (writes & 8u) s3[i] = s[3];                                                     \
            if (writes & 16u) s4[i] = s[4];                                                    \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* caution's count: how many of n elements have a step of g's sign (no store) */           \
    PYWD_INLINE double NAME(opt##_agree)(                                                      \
        const NAME(opt##_ctx) *x, const real *w, const real *g, const real *s2,                \
        const real *s3, const real *s4, const real *w0, int64_t n, const int decay,            \
        const int v)                                                                           \
    {                                                                                          \
        const NAME(opt##_consts) c = x->c;                                                     \
        const NAME(decay_reals) k = x->k;                                                      \
        const unsigned reads = NAME(opt##_reads)(v);                                           \
        real count = 0; /* exact: n <= PYWD_TILE */                                            \
        int64_t i;                                                                             \
        for (i = 0; i < n; i++) {                                                              \
            real s[PYWD_SLOT_COUNT], wi = (reads & 1u) ? w[i] : 0, probe;                      \
            real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;                               \
            real gi = NAME(decay_grad)(g[i] * k.grad_mult, wi, ai, k.wd, decay);               \
            s[2] = (reads & 4u) ? s2[i] : 0;                                                   \
            s[3] = (reads & 8u) ? s3[i] : 0;                                                   \
            s[4] = (reads & 16u) ? s4[i] : 0;                                                  \
            probe = NAME(opt##_element)(&c, &k, 0, 0, gi, s, PYWD_DECAY_NONE, v);              \
            count += (real)(probe * gi < 0);                                                   \
        }                                                                                      \
        return (double)count;                                                                  \
    }                                                                                          \
                                                                                               \
    /* the loop specialised for the call's decay mode and variant, over n elements */          \
    static void NAME(opt##_run)(const NAME(opt##_ctx) *x, real *const *a, int64_t n,         \
                                real phi)                                                      \
    {                                                                                          \
        if ((cautious) && x->phi) {                                                            \
            PYWD_OPTIMISER_CASES(opt, variants, PYWD_OPTIMISER_CAUTIOUS_CASE)                  \
        } else {                                                                               \
            PYWD_OPTIMISER_CASES(opt, variants, PYWD_OPTIMISER_CASE)                           \
        }                                                                                      \
        (void)phi;                                                                             \
    }                                                                                          \
                                                                                               \
    /* sums[0] += the agreeing elements of block [begin, begin + len) of tensor t, by tiles    \
     * (16-bit and 8-bit storage widened) */                                                   \
    static inline void NAME(opt##_agree_block)(const void *vctx, int64_t t, int64_t begin,    \
                                        int64_t len, double *sums)                             \
    {                                                                                          \
        const NAME(opt##_ctx) *x = (const NAME(opt##_ctx) *)vctx;                              \
        float scratch[PYWD_LOWP_ARGS][PYWD_TILE];                                              \
        int64_t s, n;                                                                          \
        int j;                                                                                 \
        for (s = begin; s < begin + len; s += n) {                                             \
            const real *a[PYWD_LOWP_ARGS];                                                     \
            n = begin + len - s < PYWD_TILE ? begin + len - s : PYWD_TILE;                     \
            for (j = 0; j < PYWD_LOWP_ARGS; j++)                                               \
                a[j] = x->slot[j] ? (const real *)pywd_tile_view(x->lowp, j, t, x->slot[j][t], \
                                                                 s, n, sizeof(real),           \
                                                                 scratch[j])                   \
                                  : 0;                                                         \
            switch (x->decay * (variants) + x->variant) {                                      \
                PYWD_DECAY_MODES_OF(PYWD_OPTIMISER_MODE, opt,                                  \
                                    (variants, PYWD_OPTIMISER_AGREE_CASE))                     \
            default: break;                                                                    \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    static void NAME(opt##_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)     \
    {                                                                                          \
        NAME(opt##_ctx) local;                                                                 \
        const NAME(opt##_ctx) *x = NAME(opt##_of_tensor)((const NAME(opt##_ctx) *)vctx, t,     \
                                                         &local);                              \
        real *a[PYWD_LOWP_ARGS];                                                               \
        int s;                                                                                 \
        for (s = 0; s < PYWD_LOWP_ARGS; s++) a[s] = x->slot[s] ? x->slot[s][t] + begin : 0;    \
        NAME(opt##_run)(x, a, end - begin, PYWD_CAUTION_PHI(x, t));                            \
    }                                                                                          \
    PYWD_OPTIMISER_LOWP(opt)                                                                   \
                                                                                               \
    /* the update of block [begin, begin + len) of tensor t, tile by tile, adding the step's   \
     * statistics into sums (the blocks of pywd_tensor_sums) */                                \
    static void NAME(opt##_stats_block)(const void *vctx, int64_t t, int64_t begin,           \
                                        int64_t len, double *sums)                             \
    {                                                                                          \
        NAME(opt##_ctx) local;                                                                 \
        const NAME(opt##_ctx) *x = NAME(opt##_of_tensor)((const NAME(opt##_ctx) *)vctx, t,     \
                                                         &local);                              \
        const real phi = PYWD_CAUTION_PHI(x, t);                                               \
        NAME(step_acc) acc;                                                                    \
        real old[PYWD_STATS_TILE];                                                             \
        int64_t s, n;                                                                          \
        int j;                                                                                 \
        memset(&acc, 0, sizeof(acc));                                                          \
        PYWD_OPTIMISER_STATS_LOWP(opt)                                                         \
        for (s = begin; s < begin + len; s += n) {                                             \
            real *a[PYWD_LOWP_ARGS];                                                           \
            n = begin + len - s < PYWD_STATS_TILE ? begin + len - s : PYWD_STATS_TILE;         \
            for (j = 0; j < PYWD_LOWP_ARGS; j++) a[j] = x->slot[j] ? x->slot[j][t] + s : 0;    \
            memcpy(old, a[0], (size_t)n * sizeof(real));                                       \
            NAME(opt##_run)(x, a, n, phi);                                                     \
            NAME(step_sums)(old, a[0], a[PYWD_LOWP_ARGS - 1], n, &x->k, x->decay, &acc);       \
        }                                                                                      \
        NAME(step_sums_add)(&acc, sums);                                                       \
    }                                                                                          \
                                                                                               \
    void NAME(pywd_##opt)(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,        \
                          const int64_t *sizes);                                               \
    void NAME(pywd_##opt)(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,        \
                          const int64_t *sizes)                                                \
    {                                                                                          \
        NAME(opt##_ctx) x;                                                                     \
        pywd_decay_consts d;                                                                   \
        unsigned used;                                                                         \
        int s;                                                                                 \
        int64_t t;                                                                             \
        x.variant = NAME(opt##_setup)(&x.c, &d, h);                                            \
        if (x.variant < 0) return;                                                             \
        used = NAME(opt##_reads)(x.variant) | NAME(opt##_writes)(x.variant);                   \
        x.decay = d.mode;                                                                      \
        x.k.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);                    \
        x.k.wd = (real)d.wd;                                                                   \
        x.k.factor = (real)d.factor;                                                           \
        x.k.threshold = (real)d.threshold;                                                     \
        x.k.rate = (real)d.rate;                                                               \
        for (s = 0; s < PYWD_SLOT_COUNT; s++) x.slot[s] = (used >> s & 1u) ? (real *const *)slots[s] : 0; \
        x.slot[PYWD_LOWP_ARGS - 1] = (real *const *)h->decay.anchors;                          \
        x.lowp = h->lowp;                                                                      \
        x.phi = 0;                                                                             \
        x.rates = 0;                                                                           \
        if ((cautious) && h->decay.caution) {                                                  \
            double *phi = h->decay.caution_scales;                                             \
            if (!x.slot[1]) x.slot[1] = (real *const *)slots[1]; /* the count reads g */       \
            for (t = 0; t < n; t++) phi[t] = 0.0;                                              \
            if (!pywd_shards_given(h->decay.shards))                                           \
                pywd_tensor_sums(n, sizes, 1, NAME(opt##_agree_block), &x, phi);               \
            pywd_caution_scales(h->decay.shards, phi, sizes, n);                               \
            x.phi = phi;                                                                       \
        }                                                                                      \
        if (h->decay.norm_targets && (x.decay == PYWD_DECAY_DECOUPLED ||                       \
                                      x.decay == PYWD_DECAY_CAUTIOUS)) {                       \
            NAME(norm_rates)(&h->decay, d.rate, x.lowp, (real *const *)slots[0], n, sizes);    \
            x.rates = h->decay.norm_rates;                                                     \
        }                                                                                      \
        if (h->decay.shards && h->decay.shards->mode == PYWD_SHARDS_OUT)                       \
            return; /* a sharded call's first run: its per-tensor sums only */                 \
        if (h->decay.stats) {                                                                  \
            for (t = 0; t < n * PYWD_STEP_SUMS; t++) h->decay.stats[t] = 0.0;                  \
            pywd_tensor_sums(n, sizes, PYWD_STEP_SUMS, NAME(opt##_stats_block), &x,            \
                             h->decay.stats);                                                  \
            return;                                                                            \
        }                                                                                      \
        PYWD_OPTIMISER_SPANS(opt)                                                              \
    }

/* case d * variants + v: the loop for decay mode d and variant v (with caution or not), or
 * caution's count over a tile */
#define PYWD_OPTIMISER_CASE(opt, variants, d, v)                                             \
    case (d) * (variants) + (v):                                                               \
        NAME(opt##_loop)(x, a[0], a[1], a[2], a[3], a[4], a[PYWD_LOWP_ARGS - 1], n, d, v, 0,  \
                         phi);                                                                 \
        break;
#define PYWD_OPTIMISER_CAUTIOUS_CASE(opt, variants, d, v)                                    \
    case (d) * (variants) + (v):                                                               \
        NAME(opt##_loop)(x, a[0], a[1], a[2], a[3], a[4], a[PYWD_LOWP_ARGS - 1], n, d, v, 1,  \
                         phi);                                                                 \
        break;
#define PYWD_OPTIMISER_AGREE_CASE(opt, variants, d, v)                                       \
    case (d) * (variants) + (v):                                                               \
        sums[0] += NAME(opt##_agree)(x, a[0], a[1], a[2], a[3], a[4], a[PYWD_LOWP_ARGS - 1],  \
                                     n, d, v);                                                 \
        break;
/* (q: (variants, CASE), unpacked here) */
#define PYWD_OPTIMISER_MODE(opt, q, d) PYWD_OPTIMISER_MODE_(opt, d, PYWD_UNPACK q)
#define PYWD_UNPACK(variants, CASE) variants, CASE
#define PYWD_OPTIMISER_MODE_(opt, d, ...) PYWD_OPTIMISER_MODE__(opt, d, __VA_ARGS__)
#define PYWD_OPTIMISER_MODE__(opt, d, variants, CASE)                                         \
    PYWD_VARIANTS_##variants(CASE, opt, variants, d)
#define PYWD_OPTIMISER_CASES(opt, variants, CASE)                                             \
    switch (x->decay * (variants) + x->variant) {                                              \
        PYWD_DECAY_MODES_OF(PYWD_OPTIMISER_MODE, opt, (variants, CASE))                        \
    default: break;                                                                            \
    }

/* (in the statistics' block: a call with 16-bit or 8-bit storage runs by its tiles) */
#if REAL_IS_DOUBLE
#define PYWD_OPTIMISER_STATS_LOWP(opt)
#else
#define PYWD_OPTIMISER_STATS_LOWP(opt)                                                        \
    if (x->lowp) {                                                                             \
        NAME(opt##_lowp_range)(x, t, begin, begin + len, &acc);                                \
        NAME(step_sums_add)(&acc, sums);                                                       \
        return;                                                                                \
    }
#endif

#if REAL_IS_DOUBLE
#define PYWD_OPTIMISER_SPANS(opt) pywd_run_spans(n, sizes, NAME(opt##_span), &x);
#else
#define PYWD_OPTIMISER_SPANS(opt) \
    pywd_run_spans(n, sizes, x.lowp ? NAME(opt##_span_lowp) : NAME(opt##_span), &x);
#endif
