/* ASGD (averaged SGD: Polyak & Juditsky 1992, with Bottou's step-size schedule 2012;
 * torch.optim.ASGD's order), per element:
 *   g = g + wd*w                          decay "l2" (torch's weight_decay)
 *   w = w*(1 - lambd*eta)                 ASGD's own decay term
 *   w = w*(1-eta*wd) | ... (pywd's multiplicative decays, eta as their lr);  w = w - eta*g
 *   w = sign(w)*max(|w| - eta*wd, 0)      decay "l1"
 *   ax = ax + (w - ax)*mu, or ax = w when mu is 1 (a copy, as torch: the variant)
 * eta and mu are the call's (the caller's schedule). */
typedef struct {
    real eta, shrink, mu;
} NAME(asgd_consts);

static int NAME(asgd_setup)(NAME(asgd_consts) *c, pywd_decay_consts *d,
                            const pywd_asgd_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->eta);
    c->eta = (real)h->eta;
    c->shrink = (real)(1.0 - h->lambd * h->eta);
    c->mu = (real)h->mu;
    return h->mu != 1.0;
}

PYWD_INLINE unsigned NAME(asgd_reads)(const int v) { return (void)v, 0x7u; }
PYWD_INLINE unsigned NAME(asgd_writes)(const int v) { return (void)v, 0x5u; }

PYWD_INLINE real NAME(asgd_element)(const NAME(asgd_consts) *c, const NAME(decay_reals) *k,
                                    real w, real a, real g, real *s, const int decay,
                                    const int average)
{
    w = NAME(apply_step)(w * c->shrink, a, c->eta * g, k, decay);
    s[2] = average ? s[2] + (w - s[2]) * c->mu : w;
    return w;
}

PYWD_OPTIMISER(asgd, 2)
