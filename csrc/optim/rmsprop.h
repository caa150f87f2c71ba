/* RMSprop (Hinton; torch.optim.RMSprop's algorithm), per element:
 *   g = g + wd*w                          decay "l2"
 *   s = alpha*s + (1-alpha)*g^2
 *   a = alpha*a + (1-alpha)*g,  var = s - a^2     centered (else var = s)
 *   u = g / (sqrt(var) + eps)
 *   b = momentum*b + u,  u = b            momentum > 0
 *   w = w*(1-lr*wd) | ...;  w = w - lr*u;  w = sign(w)*max(|w| - lr*wd, 0) ("l1")
 * Variants: centered * 2 + momentum; slots: square_avgs, momentum_buffers, grad_avgs. */
typedef struct {
    real alpha, one_minus_alpha, eps, lr, momentum;
} NAME(rmsprop_consts);

static int NAME(rmsprop_setup)(NAME(rmsprop_consts) *c, pywd_decay_consts *d,
                               const pywd_rmsprop_hyper *h)
{
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->alpha = (real)h->alpha;
    c->one_minus_alpha = (real)(1.0 - h->alpha);
    c->eps = (real)h->eps;
    c->lr = (real)h->lr;
    c->momentum = (real)h->momentum;
    return (h->centered != 0) * 2 + (h->momentum != 0.0);
}

PYWD_INLINE unsigned NAME(rmsprop_writes)(const int v)
{
    return 0x5u | ((v & 1) ? 0x8u : 0u) | ((v & 2) ? 0x10u : 0u);
}
PYWD_INLINE unsigned NAME(rmsprop_reads)(const int v) { return NAME(rmsprop_writes)(v) | 0x2u; }

PYWD_INLINE real NAME(rmsprop_element)(const NAME(rmsprop_consts) *c,
                                       const NAME(decay_reals) *k, real w, real a, real g,
                                       real *s, const int decay, const int v)
{
    real sq = c->alpha * s[2] + c->one_minus_alpha * (g * g), var = sq, u;
    s[2] = sq;
    if (v & 2) {
        real avg = c->alpha * s[4] + c->one_minus_alpha * g;
        s[4] = avg;
        var = sq - avg * avg;
    }
    u = g / (REAL_SQRT(var) + c->eps);
    if (v & 1) {
        real b = c->momentum * s[3] + u;
        s[3] = b;
        u = b;
    }
    return NAME(apply_step)(w, a, c->lr * u, k, decay);
}

PYWD_OPTIMISER(rmsprop, 4)
