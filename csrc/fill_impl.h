/* Random and constant fills, stamped per dtype and ISA unit (kernels.h).
 *
 * Element e of a virtual tensor (e = offset + i for element i of this array) comes from
 * Philox block (position + e / E), lane e % E, with E = 4 elements per block for float32 and
 * 2 for float64 (each block is 4 32-bit words). So an element is a function of (key,
 * position, e) only: the same bytes for any thread count, any split, any shard.
 *   uniform    float32: (w >> 8) * 2^-24; float64: the top 53 of two words * 2^-53; in [0, 1),
 *              then low + (high - low) * u, kept below high
 *   normal     Box-Muller on 1 - u1 (in (0, 1], so log never sees 0): lanes (0, 1) and (2, 3)
 *              of float32 are (r cos, r sin) pairs of words (0, 1) and (2, 3); float64 uses
 *              words (0, 1) for u1 and (2, 3) for u2; log, sin and cos are fastmath_f32.h's
 *              and fastmath_f64.h's vectorised polynomials
 *   truncated  inverse CDF, u in (0, 1): x = ndtri(Phi(alpha) + u (Phi(beta) - Phi(alpha)))
 *   normal     in double; for float32 with |alpha|, |beta| <= 3, x = sqrt(2) erfinv(2 Phi(alpha)
 *              - 1 + 2u (Phi(beta) - Phi(alpha))) in float, vectorised; then clamped to [a, b].
 *              An interval in the upper tail is sampled as its mirror image (Phi is accurate
 *              where it is small) */

#if REAL_IS_DOUBLE
#define FILL_E 2
#else
#define FILL_E 4
#endif

typedef struct {
    uint32_t k0, k1;
    uint64_t position, offset;
    real low, width, high_below;       /* uniform */
    real mean, std;                    /* normal, truncated normal */
    double t_mean, t_std, pa, pb, alpha, beta, lo, hi;
    real v_lo, v_width;                /* truncated normal, float32: 2 Phi - 1 at the bounds */
    int flip;                          /* truncated normal: sample the mirrored interval */
    int logspace;                      /* truncated normal: Phi(beta) tiny, invert log Phi */
    double log_pb, ratio, one_minus_ratio; /* log Phi(beta), Phi(alpha) / Phi(beta), 1 - it */
    int fast;                          /* truncated normal, float32: the erfinv path */
    real value;                        /* constant */
    real *dst;
} NAME(fill_ctx);

#define PYWD_TRUNC_LOGSPACE_BELOW -10.0
#define FILL_CHUNK 256 /* Philox blocks per chunk: 4 KB of words on the stack */

/* Pass 1: the words of blocks [first, first + count). */
static void NAME(philox_words)(const NAME(fill_ctx) *x, uint64_t first, int count,
                               uint32_t *PYWD_RESTRICT w)
{
    const uint32_t k0 = x->k0, k1 = x->k1;
    int k = 0;
#ifdef PYWD_PHILOX_WORDS
    k = PYWD_PHILOX_WORDS(k0, k1, first, 0u, 0u, count, w);
#endif
    for (; k < count; k++) {
        uint64_t c = first + (uint64_t)k;
        pywd_philox_block b = pywd_philox4x32((uint32_t)c, (uint32_t)(c >> 32), 0u, 0u, k0, k1);
        w[4 * k] = b.v[0];
        w[4 * k + 1] = b.v[1];
        w[4 * k + 2] = b.v[2];
        w[4 * k + 3] = b.v[3];
    }
}

/* Pass 2: the values of every element of those blocks, from their words. */
static void NAME(uniform_values)(const NAME(fill_ctx) *x, const uint32_t *PYWD_RESTRICT w,
                                 int count, real *PYWD_RESTRICT out)
{
    const real low = x->low, width = x->width, high_below = x->high_below;
    const size_t n = (size_t)count * FILL_E;
    size_t i;
    for (i = 0; i < n; i++) {
#if REAL_IS_DOUBLE
        real u = pywd_u53_of_words(w + 2 * i) * (1.0 / 9007199254740992.0);
#else
        real u = (real)(int32_t)(w[i] >> 8) * (1.0f / 16777216.0f);
#endif
        real v = low + width * u;
        out[i] = v < high_below ? v : high_below; /* rounding must not reach high */
    }
}

static void NAME(normal_values)(const NAME(fill_ctx) *x, const uint32_t *PYWD_RESTRICT w,
                                int count, real *PYWD_RESTRICT out)
{
    const real mean = x->mean, std = x->std;
    int p;
    for (p = 0; p < count * FILL_E / 2; p++) {
#if REAL_IS_DOUBLE
        double u1 = pywd_u53_of_words(w + 4 * p) * (1.0 / 9007199254740992.0);
        double u2 = pywd_u53_of_words(w + 4 * p + 2) * (1.0 / 9007199254740992.0);
        double r = sqrt(-2.0 * pywd_log(1.0 - u1)), s, c;
        pywd_sincos_turns_f64(u2, &s, &c);
        out[2 * p] = mean + std * (r * c);
        out[2 * p + 1] = mean + std * (r * s);
#else
        float u1 = (float)(int32_t)(w[2 * p] >> 8) * (1.0f / 16777216.0f);
        float u2 = (float)(int32_t)(w[2 * p + 1] >> 8) * (1.0f / 16777216.0f);
        float r = sqrtf(-2.0f * pywd_logf(1.0f - u1)), s, c;
        pywd_sincos_turns(u2, &s, &c);
        out[2 * p] = mean + std * (r * c);
        out[2 * p + 1] = mean + std * (r * s);
#endif
    }
}

/* The accurate truncated normal draw for u in (0, 1): ndtri in double (about 1e-15). In the
 * far tail, the same quantile in log space: Phi(alpha) + u (Phi(beta) - Phi(alpha)) =
 * Phi(beta) (r + u (1 - r)) with r = Phi(alpha) / Phi(beta). */
PYWD_INLINE double NAME(trunc_accurate)(const NAME(fill_ctx) *x, double u)
{
    double z, v;
    if (x->logspace)
        z = pywd_ndtri_exp(x->log_pb + log(x->ratio + u * x->one_minus_ratio));
    else
        z = pywd_ndtri(x->pa + u * (x->pb - x->pa));
    z = z < x->alpha ? x->alpha : (z > x->beta ? x->beta : z);
    v = x->t_mean + x->t_std * (x->flip ? -z : z);
    return v < x->lo ? x->lo : (v > x->hi ? x->hi : v);
}

static void NAME(trunc_normal_values)(const NAME(fill_ctx) *x, const uint32_t *PYWD_RESTRICT w,
                                      int count, real *PYWD_RESTRICT out)
{
#if REAL_IS_DOUBLE
    const size_t n = (size_t)count * FILL_E;
    size_t j;
    if (x->logspace) {
        for (j = 0; j < n; j++) {
            out[j] = NAME(trunc_accurate)(x, (pywd_u53_of_words(w + 2 * j) + 0.5) *
                                                 (1.0 / 9007199254740992.0));
        }
        return;
    }
    {
    /* trunc_accurate's common case, in passes that vectorise: AS241's centre for every
     * element, then its tails for the elements beyond the centre (about 11% on [-2, 2]),
     * gathered into a dense buffer and scattered back; then scale, shift and clamp. */
    const double pa = x->pa, width = x->pb - x->pa, alpha = x->alpha, beta = x->beta;
    const double sign = x->flip ? -1.0 : 1.0, mean = x->t_mean, std = x->t_std;
    const double lo = x->lo, hi = x->hi;
    double p[FILL_E * FILL_CHUNK], tail[FILL_E * FILL_CHUNK];
    int where[FILL_E * FILL_CHUNK], tails = 0, k;
    for (j = 0; j < n; j++) {
        double u = (pywd_u53_of_words(w + 2 * j) + 0.5) * (1.0 / 9007199254740992.0);
        p[j] = pa + u * width;
        out[j] = pywd_ndtri_centre(p[j] - 0.5);
    }
    for (j = 0; j < n; j++) { /* branch-free compaction */
        where[tails] = (int)j;
        tails += !(fabs(p[j] - 0.5) <= PYWD_AS241_CENTRE);
    }
    for (k = 0; k < tails; k++) tail[k] = p[where[k]];
    for (k = 0; k < tails; k++) tail[k] = pywd_ndtri_tail(tail[k]);
    for (k = 0; k < tails; k++) out[where[k]] = tail[k];
    for (j = 0; j < n; j++) {
        double z = out[j], v;
        z = z < alpha ? alpha : (z > beta ? beta : z);
        v = mean + std * (sign * z);
        out[j] = v < lo ? lo : (v > hi ? hi : v);
    }
    }
#else
    int i;
    if (!x->fast) {
        for (i = 0; i < count * FILL_E; i++)
            out[i] = (real)NAME(trunc_accurate)(
                x, ((double)(w[i] >> 8) + 0.5) * (1.0 / 16777216.0));
        return;
    }
    {
    /* fast, as torch's trunc_normal_: z = sqrt(2) erfinv(v), v uniform between 2 Phi(alpha) - 1
     * and 2 Phi(beta) - 1, in float; used when |alpha|, |beta| <= 3, where it is within about
     * 1e-5 std of the accurate draw (beyond, v's float resolution near +-1 is too coarse) */
    const float v_lo = x->v_lo, v_width = x->v_width, alpha = (float)x->alpha;
    const float beta = (float)x->beta, sign = x->flip ? -1.0f : 1.0f;
    const float mean = (float)x->t_mean, std = (float)x->t_std;
    const float lo = (float)x->lo, hi = (float)x->hi;
    const int n = count * FILL_E;
    float v[FILL_E * FILL_CHUNK], ws[FILL_E * FILL_CHUNK];
    for (i = 0; i < n; i++) { /* vectorised: the central branch for every element */
        float u = ((float)(int32_t)(w[i] >> 8) + 0.5f) * (1.0f / 16777216.0f); /* in (0, 1) */
        v[i] = v_lo + v_width * u;
        ws[i] = pywd_erfinvf_w(v[i]);
        out[i] = pywd_erfinvf_central(v[i], ws[i]);
    }
    for (i = 0; i < n; i += 64) { /* rare: the tail branch, found by a vectorised count
                                    * per 64 elements (80% of groups have no tail element) */
        int m = n - i < 64 ? n - i : 64, tails = 0, j;
        for (j = 0; j < m; j++) tails += !(ws[i + j] < 5.0f);
        if (tails)
            for (j = 0; j < m; j++)
                if (!(ws[i + j] < 5.0f)) out[i + j] = pywd_erfinvf_tail(v[i + j], ws[i + j]);
    }
    for (i = 0; i < n; i++) { /* vectorised: scale, shift and clamp */
        float z = 1.41421356237309504880f * out[i], r;
        z = z < alpha ? alpha : z;
        z = z > beta ? beta : z;
        r = mean + std * (sign * z);
        r = r < lo ? lo : r;
        out[i] = r > hi ? hi : r;
    }
    }
#endif
}

/* Elements [e0, e1) of the virtual tensor into dst, a chunk of whole blocks at a time: pass 1
 * and pass 2 are flat loops that vectorise; pass 2 writes into dst directly where the chunk
 * is all wanted, else into a buffer whose wanted part is copied out. An element's value
 * depends only on its words, so the chunking never changes a bit. */
#define PYWD_FILL_RANGE(kind)                                                                 \
    static void NAME(kind##_range)(const NAME(fill_ctx) *x, real *dst, uint64_t e0,          \
                                   uint64_t e1)                                               \
    {                                                                                         \
        uint32_t words[4 * FILL_CHUNK];                                                       \
        real values[FILL_E * FILL_CHUNK];                                                     \
        uint64_t e = e0;                                                                      \
        while (e < e1) {                                                                      \
            uint64_t first = e / FILL_E, last = (e1 - 1) / FILL_E, skip = e % FILL_E, take;   \
            int count = last - first + 1 < FILL_CHUNK ? (int)(last - first + 1) : FILL_CHUNK; \
            uint64_t i;                                                                       \
            NAME(philox_words)(x, x->position + first, count, words);                         \
            take = (uint64_t)count * FILL_E - skip;                                           \
            if (skip == 0 && take <= e1 - e) { /* whole blocks: straight into dst */          \
                NAME(kind##_values)(x, words, count, dst + (e - e0));                         \
            } else {                                                                          \
                NAME(kind##_values)(x, words, count, values);                                 \
                take = take < e1 - e ? take : e1 - e;                                         \
                for (i = 0; i < take; i++) dst[e - e0 + i] = values[skip + i];                \
            }                                                                                 \
            e += take;                                                                        \
        }                                                                                     \
    }                                                                                         \
    static void NAME(kind##_span)(const void *v, int64_t t, int64_t b, int64_t e)            \
    {                                                                                         \
        const NAME(fill_ctx) *x = (const NAME(fill_ctx) *)v;                                  \
        (void)t;                                                                              \
        NAME(kind##_range)(x, x->dst + b, x->offset + (uint64_t)b, x->offset + (uint64_t)e);  \
    }
PYWD_FILL_RANGE(uniform)
PYWD_FILL_RANGE(normal)
PYWD_FILL_RANGE(trunc_normal)
#undef PYWD_FILL_RANGE

static void NAME(constant_span)(const void *v, int64_t t, int64_t b, int64_t e)
{
    const NAME(fill_ctx) *x = (const NAME(fill_ctx) *)v;
    real *PYWD_RESTRICT dst = x->dst;
    const real value = x->value;
    int64_t i;
    (void)t;
    for (i = b; i < e; i++) dst[i] = value;
}

void NAME(pywd_fill)(const pywd_fill_hyper *h, real *dst, int64_t n);
void NAME(pywd_fill)(const pywd_fill_hyper *h, real *dst, int64_t n)
{
    NAME(fill_ctx) x;
    pywd_span_fn span = NAME(constant_span);
    x.k0 = (uint32_t)h->seed;
    x.k1 = (uint32_t)(h->seed >> 32);
    x.position = h->position;
    x.offset = h->offset;
    x.dst = dst;
    switch (h->kind) {
    case PYWD_FILL_UNIFORM: {
        real high = (real)h->b;
        x.low = (real)h->a;
        x.width = (real)(h->b - h->a);
        /* the largest value below high (high itself when the interval is empty) */
        x.high_below = h->b > h->a ? PYWD_NEXT_DOWN(high) : high;
        span = NAME(uniform_span);
        break;
    }
    case PYWD_FILL_NORMAL:
        x.mean = (real)h->a;
        x.std = (real)h->b;
        span = NAME(normal_span);
        break;
    case PYWD_FILL_TRUNC_NORMAL: {
        /* standardised bounds; when the interval sits in the upper tail, sample its mirror
         * image so that Phi is evaluated where it is accurate (small values) */
        double alpha = (h->c - h->a) / h->b, beta = (h->d - h->a) / h->b, log_ratio;
        x.flip = alpha + beta > 0.0;
        x.alpha = x.flip ? -beta : alpha;
        x.beta = x.flip ? -alpha : beta;
        x.pa = pywd_ndtr(x.alpha);
        x.pb = pywd_ndtr(x.beta);
        x.fast = fabs(x.alpha) <= 3.0 && fabs(x.beta) <= 3.0;
        /* below -10 sigma (Phi < 8e-24) the quantile is found in log space: Phi underflows
         * from -38.5 sigma and ndtri's refinement overflows from about -37 */
        x.logspace = x.beta < PYWD_TRUNC_LOGSPACE_BELOW;
        x.log_pb = pywd_log_ndtr(x.beta);
        log_ratio = pywd_log_ndtr(x.alpha) - x.log_pb;
        x.ratio = exp(log_ratio);
        x.one_minus_ratio = -expm1(log_ratio);
        x.v_lo = (real)(2.0 * x.pa - 1.0);
        x.v_width = (real)(2.0 * (x.pb - x.pa));
        x.t_mean = h->a;
        x.t_std = h->b;
        x.lo = h->c;
        x.hi = h->d;
        span = NAME(trunc_normal_span);
        break;
    }
    default:
        x.value = (real)h->a;
        break;
    }
    pywd_run_spans(1, &n, span, &x);
}

#undef FILL_E
#undef FILL_CHUNK
#undef PYWD_TRUNC_LOGSPACE_BELOW
