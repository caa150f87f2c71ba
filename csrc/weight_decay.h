/* Weight decay, the same in every optimiser body (DESIGN.md's table). Included by kernel
 * bodies and stamped with them: NAME, `real`, REAL_FABS and REAL_COPYSIGN come from the
 * includer. `decay` is always a literal after inlining, so the unused terms vanish.
 *   before the optimiser sees g:   "l2"            g = g + wd*w
 *   before the update:             "decoupled"     w = w*(1 - lr*wd)
 *                                  "independent"   w = w*(1 - wd)
 *   after the update:              "l1"            w = sign(w)*max(|w| - lr*wd, 0)   */
#ifndef PYWD_DECAY_CONSTS_DEFINED
/* Runs CALL(mode) with `mode` as a literal, so each decay mode gets its own specialised loop. */
#define PYWD_DECAY_SWITCH(mode, CALL)                                \
    switch (mode) {                                                  \
    case PYWD_DECAY_NONE: CALL(PYWD_DECAY_NONE); break;              \
    case PYWD_DECAY_L2: CALL(PYWD_DECAY_L2); break;                  \
    case PYWD_DECAY_DECOUPLED: CALL(PYWD_DECAY_DECOUPLED); break;    \
    case PYWD_DECAY_INDEPENDENT: CALL(PYWD_DECAY_INDEPENDENT); break; \
    case PYWD_DECAY_L1: CALL(PYWD_DECAY_L1); break;                  \
    default: break;                                                  \
    }

#define PYWD_DECAY_CONSTS_DEFINED
/* The per-call constants of the decay, in double; `mode` is NONE when weight_decay is 0. */
typedef struct {
    int mode;
    double wd, factor, threshold;
} pywd_decay_consts;

static pywd_decay_consts pywd_decay_setup(int mode, double lr, double weight_decay)
{
    pywd_decay_consts d;
    d.mode = weight_decay == 0.0 ? PYWD_DECAY_NONE : mode;
    d.wd = weight_decay;
    d.factor = mode == PYWD_DECAY_INDEPENDENT ? 1.0 - weight_decay : 1.0 - lr * weight_decay;
    d.threshold = lr * weight_decay;
    return d;
}
#endif

PYWD_INLINE real NAME(decay_grad)(real g, real w, real wd, const int decay)
{
    return decay == PYWD_DECAY_L2 ? g + wd * w : g;
}

PYWD_INLINE real NAME(decay_before)(real w, real factor, const int decay)
{
    return (decay == PYWD_DECAY_DECOUPLED || decay == PYWD_DECAY_INDEPENDENT) ? w * factor : w;
}

/* The proximal step of threshold*|w|_1, branch-free so that it vectorises (weights' signs are
 * random: a branch mispredicts); `t < 0` is false for NaN, so a NaN weight stays NaN, as with
 * NumPy's maximum. */
PYWD_INLINE real NAME(decay_after)(real w, real threshold, const int decay)
{
    real t;
    if (decay != PYWD_DECAY_L1) return w;
    t = REAL_FABS(w) - threshold;
    t = t < 0 ? (real)0 : t;
    return REAL_COPYSIGN(t, w);
}
