/* 16-bit storage for the float32 kernels: bfloat16 and float16 weights, gradients and state.
 *
 * A call whose arrays are not all float32 runs the float32 kernel's own loop on tiles of
 * PYWD_TILE elements: each 16-bit array's tile is widened into a float32 scratch tile (float32
 * arrays are used in place), the loop runs exactly as for float32, and each written 16-bit
 * tile is rounded back once per stored value. The bytes moved are the storage bytes; the
 * arithmetic is the float32 kernel's, so a float32 array in a mixed call gets the same bytes
 * as in an all-float32 call.
 *
 * Rounding (pywd_lowp.rounding):
 *   nearest     to nearest, ties to even (NumPy's and ml_dtypes' astype)
 *   stochastic  add r, 16 random bits (bfloat16) or 13 (float16), below the kept bits of the
 *               magnitude and truncate: rounds up with probability equal to the fraction of
 *               the gap below, so E[round(x)] = x (Forsythe 1959; Connolly, Higham & Mary
 *               2021). NaN stays NaN (quiet), +-inf and +-0 stay, magnitudes beyond the
 *               largest finite value go to inf as they reach the next binade.
 * The random bits of element e of tensor t in argument (buffer) k at step s are the low (e
 * even) or high (e odd) half of the 32-bit word of element pair j = e / 2:
 *   key  = words 0 and 1 of the Philox4x32-10 block with key = seed and counter
 *          (s >> 32, 2^31 | j >> 32, id(t) | k << 24, s & 0xFFFFFFFF)   (id: the tensor's
 *          index, or pywd_lowp.ids[t]), word 1 made odd
 *   word = pywd_round_word(key, j mod 2^32): ((j ^ key0) * key1), then two multiply-xorshift
 *          rounds
 * They depend on (seed, step, tensor, buffer, element) only: not on threads, tiles, ISA or
 * how a list is packed. One Philox block per tile keys the tile's words, which cost one
 * 32-bit hash per two roundings (vectorised on every unit): Philox4x32-10 for every 8
 * roundings cost 3-5x more (docs/lowp.md). Fills use counters (position, 0, 0) with positions below 2^63,
 * so never these; tensors repeat their bits after 2^24, steps after 2^64.
 *
 * Kahan summation (pywd_lowp.compensation): see pywd_tile_kahan. */
#ifndef PYWD_LOWP_H
#define PYWD_LOWP_H

#include <stdint.h>
#include <string.h>

#include "fastmath_f32.h" /* pywd_f2u, pywd_u2f: float32 bits */
#include "philox.h"
#include "pywd.h"
#include "q8.h"

#define PYWD_TILE 512

static inline float pywd_bf16_to_f32(uint16_t h) { return pywd_u2f((uint32_t)h << 16); }

/* Exact: the 15 bits of exponent and mantissa placed under float32's exponent, times 2^112
 * (the bias difference), which also makes float16 subnormals right; inf and NaN by hand, a
 * NaN made quiet as F16C's vcvtph2ps does (so both ISAs give the same bits). */
static inline float pywd_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, em = h & 0x7FFFu;
    uint32_t bits = pywd_f2u(pywd_u2f(em << 13) * 0x1p112f);
    uint32_t special = (uint32_t)0 - (uint32_t)(em >= 0x7C00u); /* a mask: stays vectorised */
    uint32_t quiet = (uint32_t)(em > 0x7C00u) << 22;
    bits = (bits & ~special) | (((em << 13) | 0x7F800000u | quiet) & special);
    return pywd_u2f(bits | sign);
}

/* bfloat16 keeps float32's top 16 bits: add r below them and truncate. Nearest-even is
 * r = 0x7FFF + the lowest kept bit. */
static inline uint16_t pywd_f32_to_bf16(float x, uint32_t r)
{
    uint32_t b = pywd_f2u(x);
    /* NaN: made quiet, so that a payload only in the low bits survives, and not rounded;
     * chosen by a mask in 32 bits, which keeps the loop to one pack (a select kept 16-bit
     * and 32-bit halves and packed twice) */
    uint32_t nan = (uint32_t)0 - (uint32_t)((b & 0x7FFFFFFFu) > 0x7F800000u);
    return (uint16_t)((((b | 0x00400000u) & nan) | ((b + r) & ~nan)) >> 16);
}

/* float16: at |x| >= 2^-14 it keeps float32's top 10 mantissa bits (r, 13 bits, is added to
 * the 13 below); below, multiples of 2^-24, where r * 2^-37 is added (exact in float32 there)
 * and the result truncated. stochastic: r random; nearest: r = -1 (ties to even, by hand). */
static inline uint16_t pywd_f32_to_f16(float x, int32_t r)
{
    uint32_t b = pywd_f2u(x), sign = (b >> 16) & 0x8000u, a = b & 0x7FFFFFFFu;
    uint32_t rn = r < 0 ? 0x0FFFu + ((a >> 13) & 1u) : (uint32_t)r;
    uint32_t an = (a + rn) & ~0x1FFFu;
    uint32_t normal = an >= 0x47800000u ? 0x7C00u : (an >> 13) - 0x1C000u;
    float q = pywd_u2f(a) * 0x1p24f; /* |x| / 2^-24, exact */
    float sub = r < 0 ? (q + 0x1p23f) - 0x1p23f : q + (float)r * 0x1p-13f;
    uint32_t subnormal;
    sub = sub < 2048.0f ? sub : 2048.0f; /* (only used below 2^-14: keeps the conversion defined) */
    subnormal = (uint32_t)(int32_t)sub;  /* 0 .. 1024 (1024 is 2^-14's encoding) */
    uint32_t h = a >= 0x38800000u ? normal : subnormal;
    h = a > 0x7F800000u ? 0x7E00u : h;
    return (uint16_t)(h | sign);
}

#ifdef PYWD_F16C
/* float16 with F16C (the AVX2 stamp): the same values as the functions above, bit for bit
 * (vcvtph2ps is exact; vcvtps2ph rounds to nearest even, or toward zero after the random
 * bits were added as pywd_f32_to_f16 adds them; NaN and overflow are set before converting,
 * as the scalar code has them). */
static inline void pywd_widen_f16c(const uint16_t *src, int64_t n, float *dst)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = pywd_f16_to_f32(src[i]);
}

/* noise: the 16 random bits per element (the top 13 are used), or NULL: to nearest */
static inline void pywd_narrow_f16c(const float *src, int64_t n, uint16_t *dst,
                                    const uint16_t *noise)
{
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
    const __m256i qnan = _mm256_set1_epi32(0x7FC00000);
    const __m256i below_normal = _mm256_set1_epi32(0x38800000 - 1);
    const __m256i below_overflow = _mm256_set1_epi32(0x47800000 - 1);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i b = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i a = _mm256_and_si256(b, abs_mask), sign = _mm256_andnot_si256(abs_mask, b);
        __m256i nan = _mm256_cmpgt_epi32(a, inf), y = b;
        __m128i h;
        if (noise) {
            __m256i r = _mm256_srli_epi32(
                _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(noise + i))), 3);
            __m256i normal = _mm256_cmpgt_epi32(a, below_normal), sum = _mm256_add_epi32(a, r);
            __m256 sub = _mm256_add_ps(_mm256_castsi256_ps(a),
                                       _mm256_mul_ps(_mm256_cvtepi32_ps(r),
                                                     _mm256_set1_ps(0x1p-37f)));
            __m256i over = _mm256_and_si256(normal, _mm256_cmpgt_epi32(sum, below_overflow));
            y = _mm256_blendv_epi8(_mm256_castps_si256(sub), sum, normal);
            y = _mm256_blendv_epi8(y, inf, over);
            y = _mm256_or_si256(_mm256_blendv_epi8(y, qnan, nan), sign);
            h = _mm256_cvtps_ph(_mm256_castsi256_ps(y), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        } else {
            y = _mm256_blendv_epi8(y, _mm256_or_si256(qnan, sign), nan);
            h = _mm256_cvtps_ph(_mm256_castsi256_ps(y),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        }
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = pywd_f32_to_f16(src[i], noise ? noise[i] >> 3 : -1);
}
#endif

/* Argument k's tile: float32 arrays in place, 16-bit ones widened into scratch. */
static inline float *pywd_tile_in(int dtype, void *base, int64_t s, int64_t n, float *scratch)
{
    int64_t i;
    if (dtype == PYWD_DTYPE_F32) return (float *)base + s;
    if (dtype == PYWD_DTYPE_BF16) {
        const uint16_t *src = (const uint16_t *)base + s;
        for (i = 0; i < n; i++) scratch[i] = pywd_bf16_to_f32(src[i]);
    } else {
        const uint16_t *src = (const uint16_t *)base + s;
#ifdef PYWD_F16C
        pywd_widen_f16c(src, n, scratch);
#else
        for (i = 0; i < n; i++) scratch[i] = pywd_f16_to_f32(src[i]);
#endif
    }
    return scratch;
}

/* Elements [s, s + n) of slot k's array `base` of tensor t (items of `itemsize` bytes) for a
 * pass that only reads: in place, or with 16-bit or 8-bit storage (lp not NULL) widened
 * into scratch (8-bit: s a multiple of PYWD_Q8_BLOCK). */
static inline const void *pywd_tile_view(const pywd_lowp *lp, int k, int64_t t, const void *base,
                                         int64_t s, int64_t n, size_t itemsize, float *scratch)
{
    if (lp && lp->dtype[k] == PYWD_DTYPE_Q8) {
        pywd_q8_decode(lp->qmap[k], (const uint8_t *)base, lp->absmax[k][t], s, n, scratch);
        return scratch;
    }
    if (lp) return pywd_tile_in(lp->dtype[k], (void *)base, s, n, scratch);
    return (const char *)base + (size_t)s * itemsize;
}

/* The key of the rounding bits of buffer k of tensor t at this step, for the element pairs
 * whose index has high word `hi` (see the top): a Philox4x32-10 block, once per tile. */
typedef struct {
    uint32_t mask, mult; /* mult odd: the first multiply is a bijection */
} pywd_round_key;

static inline pywd_round_key pywd_round_key_of(const pywd_lowp *lp, int64_t t, int k,
                                               uint32_t hi)
{
    uint32_t id = (uint32_t)(lp->ids ? lp->ids[t] : t);
    pywd_philox_block b = pywd_philox4x32((uint32_t)(lp->step >> 32), 0x80000000u | hi,
                                          id | ((uint32_t)k << 24), (uint32_t)lp->step,
                                          (uint32_t)lp->seed, (uint32_t)(lp->seed >> 32));
    pywd_round_key key;
    key.mask = b.v[0];
    key.mult = b.v[1] | 1u;
    return key;
}

/* The 32 bits of element pair j (its low 32 bits) under a key: a multiply by the key's odd
 * multiplier, then a multiply-xorshift finaliser (two rounds; constants of Wellons' hash
 * search). 32-bit integer lanes: it vectorises on every unit. */
static inline uint32_t pywd_round_word(pywd_round_key key, uint32_t j)
{
    uint32_t x = (j ^ key.mask) * key.mult;
    x ^= x >> 16;
    x *= 0x21F0AAADu;
    x ^= x >> 15;
    x *= 0x735A2D97u;
    x ^= x >> 15;
    return x;
}

/* The 16 random bits of elements [s, s + n) of a tensor's buffer (see the top), in `words`
 * (room for PYWD_TILE / 2 + 1 words); returns where element s's bits are. */
static inline const uint16_t *pywd_tile_noise(const pywd_lowp *lp, int64_t t, int k, int64_t s,
                                              int64_t n, uint32_t *words)
{
    uint64_t j = (uint64_t)s >> 1, end = ((uint64_t)(s + n) + 1) >> 1;
    uint32_t *w = words;
    while (j < end) { /* one key per run of pairs with the same high word (all, but at 2^33) */
        uint64_t next = ((j >> 32) + 1) << 32, stop = next < end ? next : end;
        uint32_t count = (uint32_t)(stop - j), first = (uint32_t)j, i;
        pywd_round_key key = pywd_round_key_of(lp, t, k, (uint32_t)(j >> 32));
        for (i = 0; i < count; i++) w[i] = pywd_round_word(key, first + i);
        w += count;
        j = stop;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    {
        uint32_t *p;
        for (p = words; p < w; p++) *p = (*p << 16) | (*p >> 16); /* w: where they end */
    }
#endif
    /* element 2j's bits are word j's low half, 2j + 1's its high half: in memory order on a
     * little-endian machine (swapped above on a big-endian one) */
    return (const uint16_t *)words + (s & 1);
}

#ifdef PYWD_AVX512_BF16
/* bfloat16 to nearest with AVX512-BF16's instruction (the AVX-512 unit, on CPUs that have it:
 * pywd_avx512bf16()), at about 0.6x the integer rounding's cost. It gives pywd_f32_to_bf16's
 * bytes for every float32, NaNs included, except that it flushes subnormal inputs to zero
 * (both checked over all 2^32 inputs on Zen 4): a vector holding one is rounded by the
 * integer code instead. */
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16"))) static void
pywd_narrow_bf16_nearest(const float *src, int64_t n, uint16_t *dst)
{
    const __m512i exponent = _mm512_set1_epi32(0x7F800000), magnitude = _mm512_set1_epi32(0x7FFFFFFF);
    int64_t i = 0, j;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(src + i);
        __m512i b = _mm512_castps_si512(x);
        if (_mm512_testn_epi32_mask(b, exponent) & _mm512_test_epi32_mask(b, magnitude)) {
            for (j = i; j < i + 16; j++) /* a subnormal among them */
                dst[j] = pywd_f32_to_bf16(src[j], 0x7FFFu + ((pywd_f2u(src[j]) >> 16) & 1u));
            continue;
        }
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)_mm512_cvtneps_pbh(x));
    }
    for (; i < n; i++) dst[i] = pywd_f32_to_bf16(src[i], 0x7FFFu + ((pywd_f2u(src[i]) >> 16) & 1u));
}
#endif

/* Rounds a written tile back into its 16-bit array (nothing to do for float32). */
static inline void pywd_tile_out(const pywd_lowp *lp, int dtype, void *base, int64_t t, int k,
                                 int64_t s, int64_t n, const float *tile)
{
    uint32_t words[PYWD_TILE / 2 + 1];
    uint16_t *dst = (uint16_t *)base + s;
    int64_t i;
    if (dtype == PYWD_DTYPE_F32) return;
    if (lp->rounding == PYWD_ROUND_STOCHASTIC) {
        const uint16_t *noise = pywd_tile_noise(lp, t, k, s, n, words);
        if (dtype == PYWD_DTYPE_BF16)
            for (i = 0; i < n; i++) dst[i] = pywd_f32_to_bf16(tile[i], noise[i]);
        else
#ifdef PYWD_F16C
            pywd_narrow_f16c(tile, n, dst, noise);
#else
            for (i = 0; i < n; i++) dst[i] = pywd_f32_to_f16(tile[i], noise[i] >> 3);
#endif
    } else if (dtype == PYWD_DTYPE_BF16) {
#ifdef PYWD_AVX512_BF16
        if (pywd_avx512bf16()) {
            pywd_narrow_bf16_nearest(tile, n, dst);
            return;
        }
#endif
        for (i = 0; i < n; i++) {
            uint32_t b = pywd_f2u(tile[i]);
            dst[i] = pywd_f32_to_bf16(tile[i], 0x7FFFu + ((b >> 16) & 1u));
        }
    } else {
#ifdef PYWD_F16C
        pywd_narrow_f16c(tile, n, dst, NULL);
#else
        for (i = 0; i < n; i++) dst[i] = pywd_f32_to_f16(tile[i], -1);
#endif
    }
}

/* Kahan-compensated 16-bit params (torch-optimi's scheme): the compensation c (params'
 * dtype) holds what rounding w lost. With old the tile's weights before the update and
 * tile after it: s = c + (tile - old); w = round(old + s); c = round(s - (w - old)), both to
 * nearest. So w + c carries the update to about float32's precision, with no random bits. */
static inline void pywd_tile_kahan(int dtype, void *base, void *comp_base, int64_t s,
                                   int64_t n, const float *old, const float *tile)
{
    pywd_lowp nearest = {{0}, PYWD_ROUND_NEAREST, 0, 0, 0, 0, {0}, {0}, 0, 0};
    float c_tile[PYWD_TILE], sum[PYWD_TILE], rounded[PYWD_TILE];
    const float *c = pywd_tile_in(dtype, comp_base, s, n, c_tile), *w;
    int64_t i;
    for (i = 0; i < n; i++) {
        sum[i] = c[i] + (tile[i] - old[i]);
        rounded[i] = old[i] + sum[i];
    }
    pywd_tile_out(&nearest, dtype, base, 0, 0, s, n, rounded);
    w = pywd_tile_in(dtype, base, s, n, rounded); /* the stored weights, widened */
    for (i = 0; i < n; i++) sum[i] = sum[i] - (w[i] - old[i]);
    pywd_tile_out(&nearest, dtype, comp_base, 0, 0, s, n, sum);
}

/* A kernel's loop over one tile: a[k] is argument k's float32 tile (NULL if absent). */
typedef void (*pywd_tile_fn)(const void *ctx, float *const *a, int64_t n);

/* Elements [begin, end) of tensor t of a call with `nargs` array arguments (args[k]: the
 * per-tensor pointers of argument k, or NULL; written: a bit per argument the loop writes). */
static inline void pywd_lowp_span(const pywd_lowp *lp, int nargs, void *const *const *args,
                                  unsigned written, int64_t t, int64_t begin, int64_t end,
                                  pywd_tile_fn fn, const void *ctx)
{
    float scratch[PYWD_LOWP_ARGS][PYWD_TILE], old[PYWD_TILE];
    int64_t s;
    int k;
    if (lp->q8) {
        /* a thread takes the 8-bit blocks that start in its span: each block's scale is of
         * all its elements after the step, so a block is never split between threads */
        const int64_t size = lp->sizes[t], block = PYWD_Q8_BLOCK;
        begin = (begin + block - 1) / block * block;
        end = end == size ? end : (end + block - 1) / block * block;
        end = end < size ? end : size;
    }
    for (s = begin; s < end;) {
        /* tiles end at multiples of PYWD_TILE, so that each covers whole Philox blocks (and
         * whole 8-bit blocks) */
        int64_t stop = (s / PYWD_TILE + 1) * PYWD_TILE, n = (stop < end ? stop : end) - s;
        float *a[PYWD_LOWP_ARGS] = {0};
        for (k = 0; k < nargs; k++) {
            if (!args[k]) continue;
            if (lp->dtype[k] == PYWD_DTYPE_Q8) {
                pywd_q8_decode(lp->qmap[k], (const uint8_t *)args[k][t], lp->absmax[k][t], s, n,
                               scratch[k]);
                a[k] = scratch[k];
            } else {
                a[k] = pywd_tile_in(lp->dtype[k], args[k][t], s, n, scratch[k]);
            }
        }
        if (lp->compensation) memcpy(old, a[0], (size_t)n * sizeof(float));
        fn(ctx, a, n);
        if (lp->compensation)
            pywd_tile_kahan(lp->dtype[0], args[0][t], lp->compensation[t], s, n, old, a[0]);
        for (k = lp->compensation ? 1 : 0; k < nargs; k++) {
            if (!args[k] || !(written >> k & 1u)) continue;
            if (lp->dtype[k] == PYWD_DTYPE_Q8)
                pywd_q8_encode(lp->qmap[k], a[k], s, n, (uint8_t *)args[k][t], lp->absmax[k][t]);
            else
                pywd_tile_out(lp, lp->dtype[k], args[k][t], t, k, s, n, a[k]);
        }
        s += n;
    }
}

#endif
