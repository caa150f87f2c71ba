/* Muon's element-wise halves (Jordan et al. 2024; torch.optim.Muon's order); the
 * Newton-Schulz orthogonalisation between them is BLAS's (the caller's).
 * momentum:  g = g + wd*w (decay "l2"; the params only read)
 *            b = lerp(b, g, 1 - momentum)
 *            u = lerp(g, b, momentum) (nesterov) or b     the orthogonalisation's input
 * apply:     w = w*(1 - lr*wd) | ... (the multiplicative decays, with the unadjusted lr);
 *            w = w - step_size*o                          o: the orthogonalised u
 *            w = sign(w)*max(|w| - lr*wd, 0)              decay "l1"
 * lerp as torch's (lerp.h). */
typedef struct {
    real keep, pull; /* keep: 1 - momentum's lerp weight; pull: momentum's */
} NAME(muon_momentum_consts);

/* variants: nesterov * 4 + keep's lerp form * 2 + pull's; slots: bufs, updates */
static int NAME(muon_momentum_setup)(NAME(muon_momentum_consts) *c, pywd_decay_consts *d,
                                     const pywd_muon_hyper *h)
{
    int keep_near_end, pull_near_end;
    *d = pywd_decay_setup(&h->decay, h->lr);
    /* only "l2" acts here: the other modes act in the apply half */
    if ((d->mode & ~PYWD_DECAY_ANCHORED) != PYWD_DECAY_L2) d->mode = PYWD_DECAY_NONE;
    c->keep = (real)pywd_lerp_form(1.0 - h->momentum, &keep_near_end);
    c->pull = (real)pywd_lerp_form(h->momentum, &pull_near_end);
    return (h->nesterov != 0) * 4 + keep_near_end * 2 + pull_near_end;
}

PYWD_INLINE unsigned NAME(muon_momentum_reads)(const int v) { return (void)v, 0x7u; }
PYWD_INLINE unsigned NAME(muon_momentum_writes)(const int v) { return (void)v, 0xCu; }

PYWD_INLINE real NAME(muon_momentum_element)(const NAME(muon_momentum_consts) *c,
                                             const NAME(decay_reals) *k, real w, real a,
                                             real g, real *s, const int decay, const int v)
{
    const real b = NAME(lerp)(s[2], g, c->keep, (v >> 1) & 1);
    (void)k, (void)a, (void)decay;
    s[2] = b;
    s[3] = (v & 4) ? NAME(lerp)(g, b, c->pull, v & 1) : b;
    return w;
}

PYWD_OPTIMISER(muon_momentum, 8)

typedef struct {
    real step_size;
} NAME(muon_apply_consts);

/* slot 2: the orthogonalised updates, only read */
static int NAME(muon_apply_setup)(NAME(muon_apply_consts) *c, pywd_decay_consts *d,
                                  const pywd_muon_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    /* "l2" acted in the momentum half */
    if ((d->mode & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2) d->mode = PYWD_DECAY_NONE;
    c->step_size = (real)h->step_size;
    return 0;
}

PYWD_INLINE unsigned NAME(muon_apply_reads)(const int v) { return (void)v, 0x5u; }
PYWD_INLINE unsigned NAME(muon_apply_writes)(const int v) { return (void)v, 0x1u; }

PYWD_INLINE real NAME(muon_apply_element)(const NAME(muon_apply_consts) *c,
                                          const NAME(decay_reals) *k, real w, real a, real g,
                                          real *s, const int decay, const int v)
{
    (void)g, (void)v;
    return NAME(apply_step)(w, a, c->step_size * s[2], k, decay);
}

PYWD_OPTIMISER(muon_apply, 1)
