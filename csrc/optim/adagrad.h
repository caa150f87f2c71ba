/* Adagrad (Duchi et al. 2011; torch.optim.Adagrad's algorithm), per element, with the
 * step's rate clr = lr / (1 + (step-1)*lr_decay), which the decay uses too:
 *   g = g + wd*w                          decay "l2"
 *   s = s + g^2
 *   w = w*(1-clr*wd) | ...;  w = w - clr*(g / (sqrt(s) + eps));  "l1" after */
typedef struct {
    real clr, eps;
} NAME(adagrad_consts);

static int NAME(adagrad_setup)(NAME(adagrad_consts) *c, pywd_decay_consts *d,
                               const pywd_adagrad_hyper *h)
{
    const double clr = h->lr / (1.0 + (double)(h->step - 1) * h->lr_decay);
    *d = pywd_decay_setup(&h->decay, clr);
    c->clr = (real)clr;
    c->eps = (real)h->eps;
    return 0;
}

PYWD_INLINE unsigned NAME(adagrad_reads)(const int v) { return (void)v, 0x7u; }
PYWD_INLINE unsigned NAME(adagrad_writes)(const int v) { return (void)v, 0x5u; }

PYWD_INLINE real NAME(adagrad_element)(const NAME(adagrad_consts) *c,
                                       const NAME(decay_reals) *k, real w, real a, real g,
                                       real *s, const int decay, const int v)
{
    real sum = s[2] + g * g;
    (void)v;
    s[2] = sum;
    return NAME(apply_step)(w, a, c->clr * (g / (REAL_SQRT(sum) + c->eps)), k, decay);
}

PYWD_OPTIMISER(adagrad, 1)
