/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2),
 * per element:
 *   g = g + wd*w                          decay "l2"
 *   c = beta1*m + (1-beta1)*g;  u = lr*sign(c)
 *   w = w*(1-lr*wd) | ...;  w = w - u;  "l1" after
 *   m = beta2*m + (1-beta2)*g */
typedef struct {
    real lr, beta1, one_minus_beta1, beta2, one_minus_beta2;
} NAME(lion_consts);

static int NAME(lion_setup)(NAME(lion_consts) *c, pywd_decay_consts *d,
                            const pywd_lion_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->lr = (real)h->lr;
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    return 0;
}

PYWD_INLINE unsigned NAME(lion_reads)(const int v) { return (void)v, 0x7u; }
PYWD_INLINE unsigned NAME(lion_writes)(const int v) { return (void)v, 0x5u; }

PYWD_INLINE real NAME(lion_element)(const NAME(lion_consts) *c, const NAME(decay_reals) *k,
                                    real w, real a, real g, real *s, const int decay,
                                    const int v)
{
    const real m = s[2], mix = c->beta1 * m + c->one_minus_beta1 * g;
    /* sign(mix), branch-free: +-1, but 0 and NaN pass through (one select vectorises) */
    const real u = (mix == 0 || mix != mix) ? mix : REAL_COPYSIGN((real)1, mix);
    (void)v;
    s[2] = c->beta2 * m + c->one_minus_beta2 * g;
    return NAME(apply_step)(w, a, c->lr * u, k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(lion, 1)
