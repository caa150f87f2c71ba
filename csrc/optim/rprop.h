/* Rprop (Riedmiller & Braun 1993, the variant without backtracking; torch.optim.Rprop's
 * order), per element:
 *   g = g + wd*w                          decay "l2"
 *   p = g*prev:  s = clamp(s*etaplus, lo, hi) where p > 0, clamp(s*etaminus, lo, hi) and
 *                g = 0 where p < 0, clamp(s, lo, hi) where p == 0; NaN where p is NaN
 *   w = w*(1-lr*wd) | ...;  w = w - sign(g)*s;  "l1" after;  prev = g
 * Every choice is arithmetic or a select, so the loop vectorises. lr only sets the decay's
 * factor and threshold (the step sizes are state, started at lr by the caller). */
typedef struct {
    real etaminus, etaplus, step_min, step_max;
} NAME(rprop_consts);

static int NAME(rprop_setup)(NAME(rprop_consts) *c, pywd_decay_consts *d,
                             const pywd_rprop_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->etaminus = (real)h->etaminus;
    c->etaplus = (real)h->etaplus;
    c->step_min = (real)h->step_size_min;
    c->step_max = (real)h->step_size_max;
    return 0;
}

PYWD_INLINE unsigned NAME(rprop_reads)(const int v) { return (void)v, 0xFu; }
PYWD_INLINE unsigned NAME(rprop_writes)(const int v) { return (void)v, 0xDu; }

PYWD_INLINE real NAME(rprop_element)(const NAME(rprop_consts) *c, const NAME(decay_reals) *k,
                                     real w, real a, real g, real *s, const int decay,
                                     const int v)
{
    const real p = g * s[2];
    /* times etaplus, etaminus or 1; a NaN product makes the step size NaN, as torch's
     * sign(NaN) does (three selects, no nested ones: those gcc leaves as branches) */
    real eta = p > 0 ? c->etaplus : c->etaminus, size;
    eta = p == 0 ? (real)1 : eta;
    eta = p != p ? p : eta;
    size = s[3] * eta;
    (void)v;
    size = size < c->step_min ? c->step_min : size;
    size = size > c->step_max ? c->step_max : size;
    g = p < 0 ? (real)0 : g;
    s[2] = g;
    s[3] = size;
    return NAME(apply_step)(w, a, ((real)(g > 0) - (real)(g < 0)) * size, k, decay);
}

PYWD_OPTIMISER(rprop, 1)
