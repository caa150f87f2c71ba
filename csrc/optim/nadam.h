/* NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam"; torch.optim.NAdam's order,
 * with its momentum schedule), per element:
 *   g = g + wd*w                          decay "l2" (torch's weight_decay)
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g*g
 *   d = sqrt(v / bc2) + eps
 *   w = w*(1-lr*wd) | ...                 the multiplicative decays (decoupled_weight_decay)
 *   w = (w - c_grad*(g/d)) - c_avg*(m/d)  two roundings, as torch's two addcdiv_
 *   w = sign(w)*max(|w| - lr*wd, 0)       decay "l1"
 * with mu_t = beta1*(1 - 0.5*0.96^(t*momentum_decay)), prod = mu_product*mu_t,
 * c_grad = lr*(1-mu_t)/(1-prod) and c_avg = lr*mu_{t+1}/(1-prod*mu_{t+1}), computed once
 * per call in double (mu_product: the product of mu over the steps before this one). */
typedef struct {
    real beta1, one_minus_beta1, beta2, one_minus_beta2, bc2, eps, c_grad, c_avg;
} NAME(nadam_consts);

static int NAME(nadam_setup)(NAME(nadam_consts) *c, pywd_decay_consts *d,
                             const pywd_nadam_hyper *h)
{
    const double t = (double)h->step;
    const double mu = h->beta1 * (1.0 - 0.5 * pow(0.96, t * h->momentum_decay));
    const double mu_next = h->beta1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * h->momentum_decay));
    const double prod = h->mu_product * mu, prod_next = prod * mu_next;
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    c->bc2 = (real)(1.0 - pow(h->beta2, t));
    c->eps = (real)h->eps;
    c->c_grad = (real)(h->lr * (1.0 - mu) / (1.0 - prod));
    c->c_avg = (real)(h->lr * mu_next / (1.0 - prod_next));
    return 0;
}

PYWD_INLINE unsigned NAME(nadam_reads)(const int v) { return (void)v, 0xFu; }
PYWD_INLINE unsigned NAME(nadam_writes)(const int v) { return (void)v, 0xDu; }

PYWD_INLINE real NAME(nadam_element)(const NAME(nadam_consts) *c, const NAME(decay_reals) *k,
                                     real w, real a, real g, real *s, const int decay,
                                     const int v)
{
    const real m = c->beta1 * s[2] + c->one_minus_beta1 * g;
    const real sq = c->beta2 * s[3] + c->one_minus_beta2 * (g * g);
    const real den = REAL_SQRT(sq / c->bc2) + c->eps;
    const real from_grad = c->c_grad * (g / den), from_avg = c->c_avg * (m / den);
    (void)v;
    s[2] = m;
    s[3] = sq;
    w = NAME(decay_before)(w, a, from_grad + from_avg, k->factor, decay);
    w = (w - from_grad) - from_avg;
    return NAME(decay_after)(w, a, k->threshold, decay);
}

PYWD_CAUTIOUS_OPTIMISER(nadam, 1)
