/* Adadelta (Zeiler 2012; torch.optim.Adadelta's order), per element:
 *   g = g + wd*w                          decay "l2" (torch's weight_decay)
 *   s = rho*s + (1-rho)*(g*g)
 *   d = (sqrt(a + eps) / sqrt(s + eps)) * g
 *   a = rho*a + (1-rho)*(d*d)
 *   w = w*(1-lr*wd) | ...;  w = w - lr*d;  "l1" after
 * Two square roots and one division per element. */
typedef struct {
    real rho, one_minus_rho, eps, lr;
} NAME(adadelta_consts);

static int NAME(adadelta_setup)(NAME(adadelta_consts) *c, pywd_decay_consts *d,
                                const pywd_adadelta_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->rho = (real)h->rho;
    c->one_minus_rho = (real)(1.0 - h->rho);
    c->eps = (real)h->eps;
    c->lr = (real)h->lr;
    return 0;
}

PYWD_INLINE unsigned NAME(adadelta_reads)(const int v) { return (void)v, 0xFu; }
PYWD_INLINE unsigned NAME(adadelta_writes)(const int v) { return (void)v, 0xDu; }

PYWD_INLINE real NAME(adadelta_element)(const NAME(adadelta_consts) *c,
                                        const NAME(decay_reals) *k, real w, real a, real g,
                                        real *s, const int decay, const int v)
{
    const real sq = c->rho * s[2] + c->one_minus_rho * (g * g);
    const real delta = (REAL_SQRT(s[3] + c->eps) / REAL_SQRT(sq + c->eps)) * g;
    (void)v;
    s[2] = sq;
    s[3] = c->rho * s[3] + c->one_minus_rho * (delta * delta);
    return NAME(apply_step)(w, a, c->lr * delta, k, decay);
}

PYWD_OPTIMISER(adadelta, 1)
