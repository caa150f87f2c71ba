/* Weight decay, the same in every optimiser body (docs/design.md's table). Included by kernel
 * bodies and stamped with them: NAME, `real`, REAL_FABS and REAL_COPYSIGN come from the
 * includer. `decay` is always a literal after inlining, so the unused terms vanish.
 *   before the optimiser sees g:   "l2"            g = g + wd*w
 *   before the update:             "decoupled"     w = w*(1 - lr*wd)
 *                                  "independent"   w = w*(1 - wd*lr/max_lr)
 *                                  "corrected"     w = w*(1 - wd*lr^2/max_lr)
 *                                  (cautious: only where update*w >= 0)
 *   after the update:              "l1"            w = sign(w)*max(|w| - lr*wd, 0)
 * The three multiplicative modes differ only in their factor, so the loops know one of
 * them, PYWD_DECAY_DECOUPLED, with the factor the mode asks for, or PYWD_DECAY_CAUTIOUS:
 * the same, withheld where update*w < 0 (a mode of its own, so that plain decay's loops
 * carry no test).
 * With an anchor w0 (decay_to: L2-SP, Li et al. 2018) every mode acts on w - w0 instead of
 * w: g + wd*(w - w0); w0 + factor*(w - w0) (cautious: where update*(w - w0) >= 0);
 * w0 + soft(w - w0). The anchored modes are modes of their own too (PYWD_DECAY_ANCHORED
 * added), whose loops read one more array. */
#ifndef PYWD_DECAY_CONSTS_DEFINED
#define PYWD_DECAY_CAUTIOUS 6 /* kernel-internal, after pywd_decay_setup: */
#define PYWD_DECAY_ANCHORED 8 /* added to a mode: decay pulls toward the anchor */
/* Every mode a loop can be specialised for, as CASE(mode) (kernels build their switches
 * from it): pywd_decay_setup has folded "independent" and "corrected" into DECOUPLED. */
#define PYWD_DECAY_MODES(CASE)                                                              \
    CASE(PYWD_DECAY_NONE) CASE(PYWD_DECAY_L2) CASE(PYWD_DECAY_DECOUPLED) CASE(PYWD_DECAY_L1) \
    CASE(PYWD_DECAY_CAUTIOUS) CASE(PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED)                   \
    CASE(PYWD_DECAY_DECOUPLED + PYWD_DECAY_ANCHORED) CASE(PYWD_DECAY_L1 + PYWD_DECAY_ANCHORED) \
    CASE(PYWD_DECAY_CAUTIOUS + PYWD_DECAY_ANCHORED)

/* The same with two more arguments: CASE(p, q, mode). */
#define PYWD_DECAY_MODES_OF(CASE, p, q)                                                     \
    CASE(p, q, PYWD_DECAY_NONE) CASE(p, q, PYWD_DECAY_L2) CASE(p, q, PYWD_DECAY_DECOUPLED)    \
    CASE(p, q, PYWD_DECAY_L1) CASE(p, q, PYWD_DECAY_CAUTIOUS)                                 \
    CASE(p, q, PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED)                                          \
    CASE(p, q, PYWD_DECAY_DECOUPLED + PYWD_DECAY_ANCHORED)                                   \
    CASE(p, q, PYWD_DECAY_L1 + PYWD_DECAY_ANCHORED)                                          \
    CASE(p, q, PYWD_DECAY_CAUTIOUS + PYWD_DECAY_ANCHORED)

#define PYWD_DECAY_CONSTS_DEFINED
/* The per-call constants of the decay, in double; `mode` is NONE when weight_decay is 0, and
 * DECOUPLED or CAUTIOUS for every multiplicative mode, whose factor is 1 - rate (rate kept
 * exactly, for the bodies that subtract rate*w rather than multiply: schedule-free). */
typedef struct {
    int mode;
    double wd, rate, factor, threshold;
} pywd_decay_consts;

static pywd_decay_consts pywd_decay_setup(const pywd_decay *decay, double lr)
{
    pywd_decay_consts d;
    const double wd = decay->weight_decay;
    /* lr / max_lr, exactly 1 without a max_lr (so "independent" is then w*(1 - wd)) */
    const double ratio = decay->max_lr > 0.0 ? lr / decay->max_lr : 1.0;
    d.mode = wd == 0.0 ? PYWD_DECAY_NONE : decay->mode;
    d.wd = wd;
    d.threshold = lr * wd;
    switch (decay->mode) {
    case PYWD_DECAY_INDEPENDENT: d.rate = wd * ratio; break;
    case PYWD_DECAY_CORRECTED: d.rate = wd * lr * ratio; break;
    default: d.rate = lr * wd; break;
    }
    d.factor = 1.0 - d.rate;
    if (d.mode == PYWD_DECAY_INDEPENDENT || d.mode == PYWD_DECAY_CORRECTED)
        d.mode = PYWD_DECAY_DECOUPLED;
    if (d.mode == PYWD_DECAY_DECOUPLED && decay->cautious) d.mode = PYWD_DECAY_CAUTIOUS;
    if (d.mode != PYWD_DECAY_NONE && decay->anchors) d.mode += PYWD_DECAY_ANCHORED;
    return d;
}

/* Weight-norm control's rate for a tensor of norm `norm` (decay toward the sphere of radius
 * `target` instead of toward 0): rate * (1 - target / norm), which moves the norm to
 * (1 - rate) * norm + rate * target before the update. Exactly `rate` for a target of 0
 * (plain decay's bits); 0 for an all-zero tensor (no direction to scale); `rate` where the
 * norm is not finite, so that a NaN weight is not spread to its tensor by a NaN factor. */
static inline double pywd_norm_rate(double rate, double target, double norm)
{
    if (target == 0.0 || !(norm < INFINITY)) return rate;
    if (norm == 0.0) return 0.0;
    return rate * (1.0 - target / norm);
}

/* A sharded call's per-tensor sums (pywd_shard_sums): the k sums per tensor the call keeps at
 * sums[t*k + j] and the exchange's slots [slot, slot + k) of row t. pywd_shards_in: 1 when
 * they came in from the exchange (the call skips computing them). pywd_shards_out: 1 when
 * the call only computes them, copied out here (the call then returns without updating). */
static inline int pywd_shards_given(const pywd_shard_sums *x)
{
    return x && x->mode == PYWD_SHARDS_IN;
}

static inline int pywd_shards_in(const pywd_shard_sums *x, double *sums, int k, int slot,
                                 int64_t n)
{
    int64_t t;
    int j;
    if (!pywd_shards_given(x)) return 0;
    for (t = 0; t < n; t++)
        for (j = 0; j < k; j++) sums[t * k + j] = x->sums[t * PYWD_SHARD_SUMS + slot + j];
    return 1;
}

static inline int pywd_shards_out(const pywd_shard_sums *x, const double *sums, int k, int slot,
                                  int64_t n)
{
    int64_t t;
    int j;
    if (!x || x->mode != PYWD_SHARDS_OUT) return 0;
    for (t = 0; t < n; t++)
        for (j = 0; j < k; j++) x->sums[t * PYWD_SHARD_SUMS + slot + j] = sums[t * k + j];
    return 1;
}

/* Caution's per-tensor scales, 1 / max(kept fraction, 1e-3), from its counts of kept elements
 * in phi[t]; in a sharded call the fraction is the whole tensor's: counts and sizes go out
 * to the exchange's slots 0 and 1, or come in from them. */
static inline void pywd_caution_scales(const pywd_shard_sums *x, double *phi,
                                       const int64_t *sizes, int64_t n)
{
    int64_t t;
    for (t = 0; t < n; t++) {
        double kept = phi[t], size = (double)sizes[t];
        if (x) {
            double *row = x->sums + t * PYWD_SHARD_SUMS;
            if (x->mode == PYWD_SHARDS_IN) kept = row[0], size = row[1];
            else row[0] = kept, row[1] = size;
        }
        kept = size > 0.0 ? kept / size : 1.0;
        phi[t] = 1.0 / (kept > 1e-3 ? kept : 1e-3);
    }
}
#endif

/* The decay's view of w: w, or w - w0 with an anchor. */
PYWD_INLINE real NAME(decay_offset)(real w, real w0, const int decay)
{
    return (decay & PYWD_DECAY_ANCHORED) ? w - w0 : w;
}

PYWD_INLINE real NAME(decay_grad)(real g, real w, real w0, real wd, const int decay)
{
    return (decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2
               ? g + wd * NAME(decay_offset)(w, w0, decay)
               : g;
}

/* w times the factor (w0 + factor*(w - w0) with an anchor), before the update is
 * subtracted; cautiously, an element whose update opposes w (update*w < 0) keeps w: times
 * 1, the same bits. */
PYWD_INLINE real NAME(decay_before)(real w, real w0, real update, real factor,
                                    const int decay)
{
    const int mode = decay & ~PYWD_DECAY_ANCHORED;
    const real x = NAME(decay_offset)(w, w0, decay);
    real shrunk;
    if (mode == PYWD_DECAY_CAUTIOUS) {
        /* 1 or factor exactly, in arithmetic: gcc keeps `opposed ? 1 : factor` a branch
         * (an ordered compare may trap) and the loop scalar */
        const real p = update * x;
        shrunk = x * ((real)(p < 0) + (real)(!(p < 0)) * factor);
    } else if (mode == PYWD_DECAY_DECOUPLED) {
        shrunk = x * factor;
    } else {
        return w;
    }
    return (decay & PYWD_DECAY_ANCHORED) ? w0 + shrunk : shrunk;
}

/* The proximal step of threshold*|w|_1 (of |w - w0|_1, around w0, with an anchor),
 * branch-free so that it vectorises (weights' signs are random: a branch mispredicts);
 * `t < 0` is false for NaN, so a NaN weight stays NaN, as with NumPy's maximum. */
PYWD_INLINE real NAME(decay_after)(real w, real w0, real threshold, const int decay)
{
    real x, t;
    if ((decay & ~PYWD_DECAY_ANCHORED) != PYWD_DECAY_L1) return w;
    x = NAME(decay_offset)(w, w0, decay);
    t = REAL_FABS(x) - threshold;
    t = t < 0 ? (real)0 : t;
    t = REAL_COPYSIGN(t, x);
    return (decay & PYWD_DECAY_ANCHORED) ? w0 + t : t;
}
