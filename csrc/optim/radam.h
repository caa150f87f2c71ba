/* RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond";
 * torch.optim.RAdam's order), per element:
 *   g = g + wd*w                          decay "l2"
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2
 *   u = (m / bc1) * lr
 *   u = (u * (sqrt(bc2) / (sqrt(v) + eps))) * r     when rho_t > 5 (the variant)
 *   w = w*(1-lr*wd) | ...;  w = w - u;  "l1" after
 * with rho_inf = 2/(1-beta2) - 1, rho_t = rho_inf - 2t*beta2^t/bc2 and the rectification
 * r = sqrt((rho_t-4)(rho_t-2)rho_inf / ((rho_inf-4)(rho_inf-2)rho_t)), in double per call. */
typedef struct {
    real beta1, one_minus_beta1, beta2, one_minus_beta2, lr, bc1, sqrt_bc2, eps, rect;
} NAME(radam_consts);

static int NAME(radam_setup)(NAME(radam_consts) *c, pywd_decay_consts *d,
                             const pywd_radam_hyper *h)
{
    const double t = (double)h->step, bc1 = 1.0 - pow(h->beta1, t);
    const double bc2 = 1.0 - pow(h->beta2, t), rho_inf = 2.0 / (1.0 - h->beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * pow(h->beta2, t) / bc2;
    const int rectify = rho_t > 5.0;
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    c->lr = (real)h->lr;
    c->bc1 = (real)bc1;
    c->sqrt_bc2 = (real)sqrt(bc2);
    c->eps = (real)h->eps;
    c->rect = (real)(rectify ? sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                    ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                             : 1.0);
    return rectify;
}

PYWD_INLINE unsigned NAME(radam_reads)(const int v) { return (void)v, 0xFu; }
PYWD_INLINE unsigned NAME(radam_writes)(const int v) { return (void)v, 0xDu; }

PYWD_INLINE real NAME(radam_element)(const NAME(radam_consts) *c, const NAME(decay_reals) *k,
                                     real w, real a, real g, real *s, const int decay,
                                     const int rectify)
{
    const real m = c->beta1 * s[2] + c->one_minus_beta1 * g;
    const real v = c->beta2 * s[3] + c->one_minus_beta2 * (g * g);
    real step = (m / c->bc1) * c->lr;
    s[2] = m;
    s[3] = v;
    if (rectify) step = (step * (c->sqrt_bc2 / (REAL_SQRT(v) + c->eps))) * c->rect;
    return NAME(apply_step)(w, a, step, k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(radam, 2)
