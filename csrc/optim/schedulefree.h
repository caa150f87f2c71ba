/* Schedule-free AdamW and SGD (Defazio et al. 2024, "The Road Less Scheduled"; the
 * schedulefree package's memory-efficient order). The params hold y, where gradients are
 * taken; z is the SGD/Adam sequence, x (the average, to evaluate with) is y's and z's to
 * recover: x = (y - (1 - beta1)*z) / beta1. Per element:
 *   g = g + wd*y                                  decay "l2"
 *   AdamW:  v = beta2*v + (1-beta2)*g^2;  u = g / (sqrt(v / (1-beta2^t)) + eps)
 *   SGD:    u = g                                 (h->adaptive 0; beta1 is momentum)
 *   dz = lr*u + rate*y                            the multiplicative modes (the package's
 *                                                 weight_decay: rate = lr*wd, at y)
 *   z' = z - dz                                   ("l1": z' = soft(z - lr*u, lr*wd),
 *                                                  dz = z - z')
 *   y' = lerp(y, z, c) - (1 - beta1*(1 - c))*dz   c: the average's weight, ckp1
 * lerp as torch's (lerp.h). Variants: adaptive * 2 + the lerp's form. */
typedef struct {
    real lr, beta2, one_minus_beta2, bias_correction2, eps;
    real lerp, step_share; /* c or c - 1; 1 - beta1*(1 - c) */
} NAME(schedulefree_consts);

static int NAME(schedulefree_setup)(NAME(schedulefree_consts) *c, pywd_decay_consts *d,
                                    const pywd_schedulefree_hyper *h)
{
    int from_z;
    *d = pywd_decay_setup(&h->decay, h->lr);
    c->lr = (real)h->lr;
    c->beta2 = (real)h->beta2;
    c->one_minus_beta2 = (real)(1.0 - h->beta2);
    c->bias_correction2 = (real)(1.0 - pow(h->beta2, (double)h->step));
    c->eps = (real)h->eps;
    c->lerp = (real)pywd_lerp_form(h->average_weight, &from_z);
    c->step_share = (real)(1.0 - h->beta1 * (1.0 - h->average_weight));
    return (h->adaptive != 0) * 2 + from_z;
}

PYWD_INLINE unsigned NAME(schedulefree_writes)(const int v) { return v & 2 ? 0xDu : 0x5u; }
PYWD_INLINE unsigned NAME(schedulefree_reads)(const int v)
{
    return NAME(schedulefree_writes)(v) | 0x2u;
}

PYWD_INLINE real NAME(schedulefree_element)(const NAME(schedulefree_consts) *c,
                                            const NAME(decay_reals) *k, real y, real a,
                                            real g, real *s, const int decay, const int v)
{
    const int mode = decay & ~PYWD_DECAY_ANCHORED;
    const real z = s[2];
    real u = g, dz, zn;
    if (v & 2) {
        const real sq = c->beta2 * s[3] + c->one_minus_beta2 * (g * g);
        s[3] = sq;
        u = g / (REAL_SQRT(sq / c->bias_correction2) + c->eps);
    }
    if (mode == PYWD_DECAY_L1) {
        zn = NAME(decay_after)(z - c->lr * u, a, k->threshold, decay);
        dz = z - zn;
    } else {
        dz = c->lr * u;
        if (mode == PYWD_DECAY_DECOUPLED || mode == PYWD_DECAY_CAUTIOUS) {
            const real x = NAME(decay_offset)(y, a, decay);
            real pull = k->rate * x;
            /* cautious: no pull where the update opposes y (1 or 0, in arithmetic) */
            if (mode == PYWD_DECAY_CAUTIOUS) pull = pull * (real)(!(u * x < 0));
            dz = dz + pull;
        }
        zn = z - dz;
    }
    s[2] = zn;
    return NAME(lerp)(y, z, c->lerp, v & 1) - c->step_share * dz;
}

PYWD_OPTIMISER(schedulefree, 4)
