/* Adam / AdamW / AMSGrad (Kingma & Ba 2015; torch.optim.Adam's order), per element:
 *   g  = g + wd*w                           decay "l2" (torch Adam's weight_decay)
 *   m  = beta1*m + (1-beta1)*g
 *   v  = beta2*v + (1-beta2)*(g*g)
 *   vmax = max(vmax, v), v^ = vmax          amsgrad (NaN propagates, as torch.maximum)
 *   d  = sqrt(v^) * (1/sqrt(1-beta2^t)) + eps
 *   w  = w*(1-lr*wd) | w*(1-wd)             decay "decoupled" (AdamW) | "independent"
 *   w  = w - (lr/(1-beta1^t)) * (m/d)
 *   w  = sign(w)*max(|w| - lr*wd, 0)        decay "l1"
 * The bias corrections are computed once per call in double; one sqrt and one division per
 * element (the costly operations on this kernel's critical path). Variants: amsgrad. */
typedef struct {
    real beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, inv_sqrt_bc2, eps;
} NAME(adam_consts);

static int NAME(adam_setup)(NAME(adam_consts) *c, pywd_decay_consts *d,
                            const pywd_adam_hyper *h)
{
    const double bias_correction1 = 1.0 - pow(h->beta1, (double)h->step);
    const double bias_correction2 = 1.0 - pow(h->beta2, (double)h->step);
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->beta1 = (real)h->beta1;
    c->one_minus_beta1 = (real)(1.0 - h->beta1);
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    c->step_size = (real)(h->lr / bias_correction1);
    c->inv_sqrt_bc2 = (real)(1.0 / sqrt(bias_correction2));
    c->eps = (real)h->eps;
    return h->amsgrad != 0;
}

PYWD_INLINE unsigned NAME(adam_reads)(const int amsgrad) { return amsgrad ? 0x1Fu : 0xFu; }
PYWD_INLINE unsigned NAME(adam_writes)(const int amsgrad) { return amsgrad ? 0x1Du : 0xDu; }

PYWD_INLINE real NAME(adam_element)(const NAME(adam_consts) *c, const NAME(decay_reals) *k,
                                    real w, real a, real g, real *s, const int decay,
                                    const int amsgrad)
{
    real m = c->beta1 * s[2] + c->one_minus_beta1 * g;
    real v = c->beta2 * s[3] + c->one_minus_beta2 * (g * g);
    real vhat = v;
    s[2] = m;
    s[3] = v;
    if (amsgrad) {
        real mx = s[4];
        mx = (mx != mx || mx > v) ? mx : v;
        s[4] = mx;
        vhat = mx;
    }
    return NAME(apply_step)(w, a, c->step_size * (m / (REAL_SQRT(vhat) * c->inv_sqrt_bc2 + c->eps)),
                            k, decay);
}

PYWD_CAUTIOUS_OPTIMISER(adam, 2)
