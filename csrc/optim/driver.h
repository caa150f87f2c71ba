/* The driver of the element-wise optimisers: everything but their math, written once.
 *
 * An element-wise optimiser OPT is one math file (csrc/optim/OPT.h) that defines, stamped per
 * dtype and ISA unit like every body (NAME and `real` are the includer's):
 *   NAME(OPT_consts)    its per-call constants, as `real`
 *   int NAME(OPT_setup)(NAME(OPT_consts) *c, pywd_decay_consts *d, const pywd_OPT_hyper *h)
 *                       computes them from the hyper-parameters, sets *d (pywd_decay_setup at
 *                       the lr its decay uses) and returns the call's variant: which of its
 *                       loops runs, 0 .. variants - 1 (csrc/optim/list.h), or -1: nothing to do
 *   unsigned NAME(OPT_reads)(v), NAME(OPT_writes)(v)
 *                       the array slots variant v reads and writes, a bit per slot
 *                       (0 params, 1 grads, 2..4 state; a state slot is read and written)
 *   real NAME(OPT_element)(const NAME(OPT_consts) *c, const NAME(decay_reals) *k, real w,
 *                          real a, real g, real *s, const int decay, const int v)
 *                       one element's step: its weight w, anchor a (0 without decay_to) and
 *                       gradient g (grad_mult and decay "l2" applied); s[2..4] the values of
 *                       its state slots, updated in place; returns the new weight. `decay`
 *                       and v are literals after inlining, so each loop holds only its terms.
 * PYWD_OPTIMISER(OPT, variants) then defines the loop (the only place a slot is loaded or
 * stored), its specialisation per decay mode and variant, the spans and 16-bit tiles, and the
 * entry point NAME(pywd_OPT)(h, n, slots, sizes): slots[k] the per-tensor pointers of slot k
 * (NULL for a slot the call has not), the anchors from h->decay. Every hyper-parameter struct
 * starts with grad_mult and has decay, maximize and lowp (pywd.h).
 * To see what a driver line expands to: gcc -E -P -Icsrc csrc/unit_baseline.c. */
#undef PYWD_OPTIMISER_LOWP
#undef PYWD_OPTIMISER_SPANS

/* The decay's constants and the gradient's multiplier, as `real`: every optimiser's. */
typedef struct {
    real grad_mult, wd, factor, threshold, rate;
} NAME(decay_reals);

/* w after a step that subtracts `step`, with the multiplicative decays before it and the
 * proximal one after (the order of docs/design.md's table). */
PYWD_INLINE real NAME(apply_step)(real w, real a, real step, const NAME(decay_reals) *k,
                                  const int decay)
{
    w = NAME(decay_before)(w, a, step, k->factor, decay) - step;
    return NAME(decay_after)(w, a, k->threshold, decay);
}

/* CASE(opt, nv, d, v) for each variant v < nv (the counts csrc/optim/list.h uses) */
#define PYWD_VARIANTS_1(CASE, opt, nv, d) CASE(opt, nv, d, 0)
#define PYWD_VARIANTS_2(CASE, opt, nv, d) PYWD_VARIANTS_1(CASE, opt, nv, d) CASE(opt, nv, d, 1)
#define PYWD_VARIANTS_4(CASE, opt, nv, d) \
    PYWD_VARIANTS_2(CASE, opt, nv, d) CASE(opt, nv, d, 2) CASE(opt, nv, d, 3)
#define PYWD_VARIANTS_6(CASE, opt, nv, d) \
    PYWD_VARIANTS_4(CASE, opt, nv, d) CASE(opt, nv, d, 4) CASE(opt, nv, d, 5)
#define PYWD_VARIANTS_8(CASE, opt, nv, d) \
    PYWD_VARIANTS_6(CASE, opt, nv, d) CASE(opt, nv, d, 6) CASE(opt, nv, d, 7)

#if REAL_IS_DOUBLE
#define PYWD_OPTIMISER_LOWP(opt)
#else
#define PYWD_OPTIMISER_LOWP(opt)                                                              \
    static void NAME(opt##_tile)(const void *vctx, float *const *a, int64_t n)                \
    {                                                                                          \
        NAME(opt##_run)((const NAME(opt##_ctx) *)vctx, a, n);                                  \
    }                                                                                          \
    static void NAME(opt##_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)\
    {                                                                                          \
        const NAME(opt##_ctx) *x = (const NAME(opt##_ctx) *)vctx;                              \
        pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, (void *const *const *)x->slot,                 \
                       NAME(opt##_writes)(x->variant), t, begin, end, NAME(opt##_tile), x);    \
    }
#endif

#define PYWD_OPTIMISER(opt, variants)                                                         \
    typedef struct {                                                                           \
        NAME(opt##_consts) c;                                                                  \
        NAME(decay_reals) k;                                                                   \
        int decay, variant;                                                                    \
        const pywd_lowp *lowp;                                                                 \
        real *const *slot[PYWD_LOWP_ARGS]; /* per slot; the last: the decay's anchors */       \
    } NAME(opt##_ctx);                                                                         \
                                                                                               \
    PYWD_INLINE void NAME(opt##_loop)(                                                         \
        const NAME(opt##_ctx) *x, real *PYWD_RESTRICT w, const real *PYWD_RESTRICT g,          \
        real *PYWD_RESTRICT s2, real *PYWD_RESTRICT s3, real *PYWD_RESTRICT s4,                \
        const real *PYWD_RESTRICT w0, int64_t n, const int decay, const int v)                 \
    {                                                                                          \
        /* copies: a store through w cannot change them, so they stay in registers */          \
        const NAME(opt##_consts) c = x->c;                                                     \
        const NAME(decay_reals) k = x->k;                                                      \
        const unsigned reads = NAME(opt##_reads)(v), writes = NAME(opt##_writes)(v);           \
        int64_t i;                                                                             \
        for (i = 0; i < n; i++) {                                                              \
            real s[PYWD_SLOT_COUNT], wi = w[i];                                                \
            real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;                               \
            real gi = (reads & 2u) ? NAME(decay_grad)(g[i] * k.grad_mult, wi, ai, k.wd, decay) \
                                   : 0;                                                        \
            s[2] = (reads & 4u) ? s2[i] : 0;                                                   \
            s[3] = (reads & 8u) ? s3[i] : 0;                                                   \
            s[4] = (reads & 16u) ? s4[i] : 0;                                                  \
            wi = NAME(opt##_element)(&c, &k, wi, ai, gi, s, decay, v);                         \
            if (writes & 1u) w[i] = wi;                                                        \
            if (writes & 4u) s2[i] = s[2];                                                     \
            if (writes & 8u) s3[i] = s[3];                                                     \
            if (writes & 16u) s4[i] = s[4];                                                    \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* the loop specialised for the call's decay mode and variant, over n elements */          \
    static void NAME(opt##_run)(const NAME(opt##_ctx) *x, real *const *a, int64_t n)          \
    {                                                                                          \
        PYWD_OPTIMISER_CASES(opt, variants)                                                    \
    }                                                                                          \
                                                                                               \
    static void NAME(opt##_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)     \
    {                                                                                          \
        const NAME(opt##_ctx) *x = (const NAME(opt##_ctx) *)vctx;                              \
        real *a[PYWD_LOWP_ARGS];                                                               \
        int s;                                                                                 \
        for (s = 0; s < PYWD_LOWP_ARGS; s++) a[s] = x->slot[s] ? x->slot[s][t] + begin : 0;    \
        NAME(opt##_run)(x, a, end - begin);                                                    \
    }                                                                                          \
    PYWD_OPTIMISER_LOWP(opt)                                                                   \
                                                                                               \
    void NAME(pywd_##opt)(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,        \
                          const int64_t *sizes);                                               \
    void NAME(pywd_##opt)(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,        \
                          const int64_t *sizes)                                                \
    {                                                                                          \
        NAME(opt##_ctx) x;                                                                     \
        pywd_decay_consts d;                                                                   \
        unsigned used;                                                                         \
        int s;                                                                                 \
        x.variant = NAME(opt##_setup)(&x.c, &d, h);                                            \
        if (x.variant < 0) return;                                                             \
        used = NAME(opt##_reads)(x.variant) | NAME(opt##_writes)(x.variant);                   \
        x.decay = d.mode;                                                                      \
        x.k.grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);                    \
        x.k.wd = (real)d.wd;                                                                   \
        x.k.factor = (real)d.factor;                                                           \
        x.k.threshold = (real)d.threshold;                                                     \
        x.k.rate = (real)d.rate;                                                               \
        for (s = 0; s < PYWD_SLOT_COUNT; s++) x.slot[s] = (used >> s & 1u) ? (real *const *)slots[s] : 0; \
        x.slot[PYWD_LOWP_ARGS - 1] = (real *const *)h->decay.anchors;                          \
        x.lowp = h->lowp;                                                                      \
        PYWD_OPTIMISER_SPANS(opt)                                                              \
    }

/* case d * variants + v: the loop for decay mode d and variant v */
#define PYWD_OPTIMISER_CASE(opt, variants, d, v)                                             \
    case (d) * (variants) + (v):                                                               \
        NAME(opt##_loop)(x, a[0], a[1], a[2], a[3], a[4], a[PYWD_LOWP_ARGS - 1], n, d, v);    \
        break;
#define PYWD_OPTIMISER_MODE(opt, variants, d)                                                 \
    PYWD_VARIANTS_##variants(PYWD_OPTIMISER_CASE, opt, variants, d)
#define PYWD_OPTIMISER_CASES(opt, variants)                                                   \
    switch (x->decay * (variants) + x->variant) {                                              \
        PYWD_DECAY_MODES_OF(PYWD_OPTIMISER_MODE, opt, variants)                                \
    default: break;                                                                            \
    }

#if REAL_IS_DOUBLE
#define PYWD_OPTIMISER_SPANS(opt) pywd_run_spans(n, sizes, NAME(opt##_span), &x);
#else
#define PYWD_OPTIMISER_SPANS(opt) \
    pywd_run_spans(n, sizes, x.lowp ? NAME(opt##_span_lowp) : NAME(opt##_span), &x);
#endif
