/* AdEMAMix (Pagliardini et al. 2024, "The AdEMAMix Optimizer: Better, Faster, Older"), per
 * element: Adam's two moments plus a slow EMA of the gradient, mixed into the numerator:
 *   g  = g + wd*w                           decay "l2"
 *   m  = beta1*m + (1-beta1)*g
 *   v  = beta2*v + (1-beta2)*(g*g)
 *   s  = beta3*s + (1-beta3)*g              beta3 and alpha: this step's (their warm-ups are
 *                                           the caller's, pywd/_core/_ademamix.pxi)
 *   w  = w*(1-lr*wd)                        decay "decoupled" (the paper's; as AdamW)
 *   w  = w - (lr/(1-beta1^t)*m + lr*alpha*s) / (sqrt(v)*(1/sqrt(1-beta2^t)) + eps)
 * The slow EMA has no bias correction (the paper's). */
typedef struct {
    real beta1, one_minus_beta1, beta2, one_minus_beta2, beta3, one_minus_beta3;
    real fast_rate, slow_rate, inv_sqrt_bc2, eps;
} NAME(ademamix_consts);

static int NAME(ademamix_setup)(NAME(ademamix_consts) *c, pywd_decay_consts *d,
                                const pywd_ademamix_hyper *h)
{
    const double t = (double)h->step;
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    c->beta3 = (real)h->beta3;
    c->one_minus_beta3 = (real)(1.0 - h->beta3);
    c->fast_rate = (real)(h->lr / (1.0 - pow(h->beta1, t)));
    c->slow_rate = (real)(h->lr * h->alpha);
    c->inv_sqrt_bc2 = (real)(1.0 / sqrt(1.0 - pow(h->beta2, t)));
    c->eps = (real)h->eps;
    return 0;
}

PYWD_INLINE unsigned NAME(ademamix_reads)(const int v) { return (void)v, 0x1Fu; }
PYWD_INLINE unsigned NAME(ademamix_writes)(const int v) { return (void)v, 0x1Du; }

PYWD_INLINE real NAME(ademamix_element)(const NAME(ademamix_consts) *c,
                                        const NAME(decay_reals) *k, real w, real a, real g,
                                        real *s, const int decay, const int v)
{
    const real m = c->beta1 * s[2] + c->one_minus_beta1 * g;
    const real sq = c->beta2 * s[3] + c->one_minus_beta2 * (g * g);
    const real slow = c->beta3 * s[4] + c->one_minus_beta3 * g;
    const real den = REAL_SQRT(sq) * c->inv_sqrt_bc2 + c->eps;
    (void)v;
    s[2] = m;
    s[3] = sq;
    s[4] = slow;
    return NAME(apply_step)(w, a, (c->fast_rate * m + c->slow_rate * slow) / den, k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(ademamix, 1)
