/* Adamax (Kingma & Ba 2015, section 7.1; torch.optim.Adamax's order), per element:
 *   g = g + wd*w                          decay "l2"
 *   m = beta1*m + (1-beta1)*g
 *   u = max(beta2*u, |g| + eps)           (NaN propagates, as torch's)
 *   w = w*(1-lr*wd) | ...;  w = w - (lr/(1-beta1^t)) * (m/u);  "l1" after */
typedef struct {
    real beta1, one_minus_beta1, beta2, eps, step_size;
} NAME(adamax_consts);

static int NAME(adamax_setup)(NAME(adamax_consts) *c, pywd_decay_consts *d,
                              const pywd_adamax_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->eps = (real)h->eps;
    c->step_size = (real)(h->lr / (1.0 - pow(h->beta1, (double)h->step)));
    return 0;
}

PYWD_INLINE unsigned NAME(adamax_reads)(const int v) { return (void)v, 0xFu; }
PYWD_INLINE unsigned NAME(adamax_writes)(const int v) { return (void)v, 0xDu; }

PYWD_INLINE real NAME(adamax_element)(const NAME(adamax_consts) *c,
                                      const NAME(decay_reals) *k, real w, real a, real g,
                                      real *s, const int decay, const int v)
{
    const real m = c->beta1 * s[2] + c->one_minus_beta1 * g;
    const real decayed = c->beta2 * s[3], fresh = REAL_FABS(g) + c->eps;
    /* `|`, not `||`: no branch, so the loop vectorises */
    const real u = ((decayed != decayed) | (decayed > fresh)) ? decayed : fresh;
    (void)v;
    s[2] = m;
    s[3] = u;
    return NAME(apply_step)(w, a, c->step_size * (m / u), k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(adamax, 1)
