/* SGD family (torch.optim.SGD's single-tensor algorithm, docs/design.md's table), per element:
 *   g  = g*grad_mult, negated if maximize  (loss scale, clipping)
 *   g  = g + wd*w                      decay "l2"
 *   b  = g                             first momentum step (torch clones the gradient)
 *   b  = momentum*b + (1-dampening)*g  later steps
 *   u  = g + momentum*b (nesterov) | b (momentum) | g (plain)
 *   w  = w*(1-lr*wd)                   decay "decoupled";  w*(1-wd) for "independent"
 *   w  = w - lr*u
 *   w  = sign(w)*max(|w| - lr*wd, 0)   decay "l1" (proximal soft threshold)
 * Scalars are rounded to `real` once per call, as NumPy rounds a Python float to the
 * array's dtype, so each operation rounds exactly like pywd/reference.py's.
 * Variants: momentum (0 none, 1 heavy ball, 2 Nesterov) * 2 + first step. */
typedef struct {
    real lr, momentum, one_minus_dampening;
} NAME(sgd_consts);

static int NAME(sgd_setup)(NAME(sgd_consts) *c, pywd_decay_consts *d, const pywd_sgd_hyper *h)
{
    const int mom = h->momentum == 0.0 ? 0 : h->nesterov ? 2 : 1;
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->lr = (real)h->lr;
    c->momentum = (real)h->momentum;
    c->one_minus_dampening = (real)(1.0 - h->dampening);
    return mom * 2 + (mom != 0 && h->first_step);
}

PYWD_INLINE unsigned NAME(sgd_reads)(const int v) { return v >= 2 ? 0x7u : 0x3u; }
PYWD_INLINE unsigned NAME(sgd_writes)(const int v) { return v >= 2 ? 0x5u : 0x1u; }

PYWD_INLINE real NAME(sgd_element)(const NAME(sgd_consts) *c, const NAME(decay_reals) *k,
                                   real w, real a, real g, real *s, const int decay,
                                   const int v)
{
    const int mom = v / 2, first = v % 2;
    real u = g;
    if (mom) {
        real b = first ? g : c->momentum * s[2] + c->one_minus_dampening * g;
        s[2] = b;
        u = mom == 2 ? g + c->momentum * b : b;
    }
    return NAME(apply_step)(w, a, c->lr * u, k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(sgd, 6)
