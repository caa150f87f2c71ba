/* The bare decay step (pywd.decay): the SGD step with a zero gradient.
 *   "l2"          w = w - lr*(wd*w)      (the gradient step of the penalty wd/2*|w|^2)
 *   "decoupled"   w = w*(1 - lr*wd), and "independent", "corrected" with their factors
 *   "l1"          w = sign(w)*max(|w| - lr*wd, 0)
 * With no update to compare with, cautious does not apply. */
typedef struct {
    real lr;
} NAME(decay_consts);

static int NAME(decay_setup)(NAME(decay_consts) *c, pywd_decay_consts *d,
                             const pywd_decay_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->lr = (real)h->lr;
    return d->mode == PYWD_DECAY_NONE ? -1 : 0;
}

PYWD_INLINE unsigned NAME(decay_reads)(const int v) { return (void)v, 0x1u; }
PYWD_INLINE unsigned NAME(decay_writes)(const int v) { return (void)v, 0x1u; }

PYWD_INLINE real NAME(decay_element)(const NAME(decay_consts) *c, const NAME(decay_reals) *k,
                                     real w, real a, real g, real *s, const int decay,
                                     const int v)
{
    (void)g, (void)s, (void)v;
    if ((decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2)
        w = w - c->lr * (k->wd * NAME(decay_offset)(w, a, decay));
    w = NAME(decay_before)(w, a, 0, k->factor, decay);
    return NAME(decay_after)(w, a, k->threshold, decay);
}

PYWD_OPTIMISER(decay, 1)
