/* 8-bit block-quantised optimiser state, in bitsandbytes' blockwise format (pywd.reference's
 * q8_encode and q8_decode are the twins, bit for bit).
 *
 * A tensor's state is cut into blocks of PYWD_Q8_BLOCK elements from its start (the last may
 * be shorter); each block keeps one float32 scale, its largest magnitude (absmax), and each
 * element a uint8 code into one of two 256-value maps: the signed dynamic map for state that
 * changes sign (momentum, first moments), the unsigned one for non-negative state (second
 * moments, sums of squares). Reading: map[code] * absmax. Writing a block: absmax = max |v|
 * (NaN if any v is NaN), x = v * (1 / max(absmax, 1e-38)) clamped to [-1, 1], and the code is
 * the number of the map's float32 midpoints below x (bitsandbytes' bucketize: the nearest
 * map value, the lower on a tie; NaN gets 255).
 *
 * The code is found with one table read, no search: |x|'s float32 bits (clamped to 1's)
 * past 2^-24 (below it no midpoint lies) split into a bucket (the bits above the low 16: 128
 * buckets a binade) and a place in it (the low 16). Each bucket is narrow enough to hold at
 * most one midpoint of each sign (checked when the tables are made, csrc/q8.c). Its entry,
 * one per bucket and sign, packs the code of the bucket's start (low 8 bits) and the last
 * place that keeps it (above them: past the midpoint inside, x's code is one further from
 * the code of 0, up for x >= 0 and down for x < 0; no midpoint inside: PYWD_Q8_NONE). -0.0
 * takes the negative side, which gives it the code of 0 as +0.0. A NaN gets 255 (torch's
 * bucketize). The vector loops read the entries with gathers (AVX2, AVX-512).
 *
 * Decoding reads map[code]: a gather (AVX2), the map in 16 float registers (AVX-512), or,
 * where the CPU has AVX512-VBMI, the map's four byte planes in 16 registers, 64 codes a byte
 * permute: 0.09 against 0.27 ns per element on Zen 4. */
#ifndef PYWD_Q8_H
#define PYWD_Q8_H

#include <stdint.h>

#include "fastmath_f32.h" /* pywd_f2u, pywd_u2f */

#define PYWD_Q8_BLOCK 256
#define PYWD_Q8_LOW 0x33800000u /* 2^-24's bits: every bucket below it is bucket 0 */
#define PYWD_Q8_SHIFT 16
#define PYWD_Q8_BUCKETS (((0x3F800000u - PYWD_Q8_LOW) >> PYWD_Q8_SHIFT) + 1)
#define PYWD_Q8_NONE 0x10000 /* "no midpoint in this bucket": past every place */

typedef struct pywd_q8_map {
    float values[256]; /* the map, ascending */
    /* per bucket, for x >= 0 then (PYWD_Q8_BUCKETS on) for x < 0: the code of its start
     * (low 8 bits) and the last place with that code (above them, signed) */
    int32_t entry[2 * PYWD_Q8_BUCKETS];
    uint8_t planes[4][256]; /* byte k of each value's bits (little-endian: k = 0 the lowest) */
} pywd_q8_map;

/* The maps (csrc/q8.c): 0 unsigned, 1 signed. */
const pywd_q8_map *pywd_q8_map_of(int is_signed);

/* The code of x, already scaled (|x| above 1 counts as 1, as bitsandbytes clamps it). */
static inline uint8_t pywd_q8_code(const int32_t *entries, float x)
{
    uint32_t bits = pywd_f2u(x), magnitude = bits & 0x7FFFFFFFu;
    uint32_t past, negative = bits >> 31;
    int32_t e, more;
    magnitude = magnitude < 0x3F800000u ? magnitude : 0x3F800000u; /* (a NaN too: 255 below) */
    past = magnitude > PYWD_Q8_LOW ? magnitude - PYWD_Q8_LOW : 0u;
    e = entries[(past >> PYWD_Q8_SHIFT) + negative * PYWD_Q8_BUCKETS];
    more = (int32_t)(past & 0xFFFFu) > (e >> 8); /* (e >> 8: arithmetic, the place may be -1) */
    if (x != x) return 255;
    return (uint8_t)(negative ? (e & 0xFF) - more : (e & 0xFF) + more);
}

/* One block's pieces, written plainly (the baseline unit, and the other units' tails): its
 * largest magnitude (NaN if it holds a NaN: torch's max, as the quiet NaN), its codes from
 * its values times inv, and its values from its codes times its scale. */
static inline float pywd_q8_max_plain(const float *v, int64_t len)
{
    float top = 0.0f;
    uint32_t nan = 0;
    int64_t j;
    for (j = 0; j < len; j++) {
        float a = fabsf(v[j]);
        top = a > top ? a : top;
        nan |= pywd_f2u(a) > 0x7F800000u;
    }
    return nan ? pywd_u2f(0x7FC00000u) : top;
}

static inline void pywd_q8_codes_plain(const pywd_q8_map *m, const float *v, float inv,
                                       int64_t len, uint8_t *c)
{
    int64_t j;
    for (j = 0; j < len; j++) c[j] = pywd_q8_code(m->entry, v[j] * inv);
}

static inline void pywd_q8_values_plain(const pywd_q8_map *m, const uint8_t *c, float scale,
                                        int64_t len, float *d)
{
    int64_t j;
    for (j = 0; j < len; j++) d[j] = m->values[c[j]] * scale;
}

#if defined(PYWD_Q8_AVX512)
/* The AVX-512 unit: 16 lanes, the tail under a mask; the code's table read is a gather. */
static inline float pywd_q8_max(const float *v, int64_t len)
{
    __m512 top = _mm512_setzero_ps();
    __mmask16 nan = 0;
    int64_t j;
    for (j = 0; j < len; j += 16) {
        __mmask16 live = len - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(live, v + j));
        nan |= _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
        top = _mm512_max_ps(top, a);
    }
    return nan ? pywd_u2f(0x7FC00000u) : _mm512_reduce_max_ps(top);
}

static inline void pywd_q8_codes(const pywd_q8_map *m, const float *v, float inv, int64_t len,
                                 uint8_t *c)
{
    const __m512 scale = _mm512_set1_ps(inv);
    const __m512i low = _mm512_set1_epi32((int)PYWD_Q8_LOW);
    const __m512i one_bits = _mm512_set1_epi32(0x3F800000);
    const __m512i side = _mm512_set1_epi32(PYWD_Q8_BUCKETS);
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);
    const __m512i places = _mm512_set1_epi32(0xFFFF), code_bits = _mm512_set1_epi32(0xFF);
    const __m512i step = _mm512_set1_epi32(1);
    int64_t j;
    for (j = 0; j < len; j += 16) {
        __mmask16 live = len - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, v + j), scale);
        __m512i bits = _mm512_castps_si512(x);
        __m512i past = _mm512_min_epu32(_mm512_and_si512(bits, magnitude), one_bits);
        __mmask16 negative = _mm512_movepi32_mask(bits), more;
        __m512i bucket, e, code;
        past = _mm512_sub_epi32(_mm512_max_epu32(past, low), low);
        bucket = _mm512_srli_epi32(past, PYWD_Q8_SHIFT);
        bucket = _mm512_mask_add_epi32(bucket, negative, bucket, side);
        e = _mm512_i32gather_epi32(bucket, (const void *)m->entry, 4);
        more = _mm512_cmpgt_epi32_mask(_mm512_and_si512(past, places), _mm512_srai_epi32(e, 8));
        code = _mm512_and_si512(e, code_bits);
        code = _mm512_mask_add_epi32(code, more & (__mmask16)~negative, code, step);
        code = _mm512_mask_sub_epi32(code, more & negative, code, step);
        /* (narrowed in a register, then stored: the narrowing store is slow on Zen 4) */
        _mm_mask_storeu_epi8(c + j, live, _mm512_cvtepi32_epi8(code));
    }
}

/* The map in 16 registers, read by 2-source permutes (32 values each) and blends on the
 * code's top bits: faster than a gather on Zen 4 (0.28 against 0.33 ns per element). */
static inline void pywd_q8_values_permute(const pywd_q8_map *m, const uint8_t *c, float scale,
                                  int64_t len, float *d)
{
    const __m512 by = _mm512_set1_ps(scale);
    const __m512i bit5 = _mm512_set1_epi32(32), bit6 = _mm512_set1_epi32(64);
    const __m512i bit7 = _mm512_set1_epi32(128);
    __m512 t[16];
    int64_t j;
    int k;
    for (k = 0; k < 16; k++) t[k] = _mm512_loadu_ps(m->values + 16 * k);
    for (j = 0; j < len; j += 16) {
        __mmask16 live = len - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        __m512i code = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(live, c + j));
        __mmask16 b5 = _mm512_test_epi32_mask(code, bit5), b6 = _mm512_test_epi32_mask(code, bit6);
        __mmask16 b7 = _mm512_test_epi32_mask(code, bit7);
        __m512 r[8];
        for (k = 0; k < 8; k++) r[k] = _mm512_permutex2var_ps(t[2 * k], code, t[2 * k + 1]);
        for (k = 0; k < 4; k++) r[k] = _mm512_mask_blend_ps(b5, r[2 * k], r[2 * k + 1]);
        for (k = 0; k < 2; k++) r[k] = _mm512_mask_blend_ps(b6, r[2 * k], r[2 * k + 1]);
        r[0] = _mm512_mask_blend_ps(b7, r[0], r[1]);
        _mm512_mask_storeu_ps(d + j, live, _mm512_mul_ps(r[0], by));
    }
}
#ifdef PYWD_Q8_VBMI
/* The map's byte planes, each in 4 registers: per 64 codes, each plane's bytes come from
 * two 128-byte permutes (the code's low 7 bits) and a blend on its top bit, and unpacking
 * the planes' bytes pairwise, then their words, puts each value's four bytes together. The
 * unpacks work within 128-bit lanes (output k's lane l holds loaded bytes 16l + 4k .. + 3),
 * so the codes' 4-byte groups are first transposed as a 4 x 4 matrix: output k then holds
 * codes 16k .. 16k + 15 in order. Whole 64s only; the tail takes the float permutes. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
pywd_q8_values_vbmi(const pywd_q8_map *m, const uint8_t *c, float scale, int64_t len, float *d)
{
    const __m512 by = _mm512_set1_ps(scale);
    const __m512i transpose = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7,
                                                11, 15);
    __m512i t[4][4];
    int64_t j;
    int k, q;
    for (k = 0; k < 4; k++)
        for (q = 0; q < 4; q++) t[k][q] = _mm512_loadu_si512(m->planes[k] + 64 * q);
    for (j = 0; j + 64 <= len; j += 64) {
        __m512i code = _mm512_permutexvar_epi32(transpose, _mm512_loadu_si512(c + j));
        __mmask64 top = _mm512_movepi8_mask(code);
        __m512i b[4], lo01, hi01, lo23, hi23;
        for (k = 0; k < 4; k++)
            b[k] = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(t[k][0], code, t[k][1]),
                                          _mm512_permutex2var_epi8(t[k][2], code, t[k][3]));
        lo01 = _mm512_unpacklo_epi8(b[0], b[1]);
        hi01 = _mm512_unpackhi_epi8(b[0], b[1]);
        lo23 = _mm512_unpacklo_epi8(b[2], b[3]);
        hi23 = _mm512_unpackhi_epi8(b[2], b[3]);
        b[0] = _mm512_unpacklo_epi16(lo01, lo23);
        b[1] = _mm512_unpackhi_epi16(lo01, lo23);
        b[2] = _mm512_unpacklo_epi16(hi01, hi23);
        b[3] = _mm512_unpackhi_epi16(hi01, hi23);
        for (k = 0; k < 4; k++)
            _mm512_storeu_ps(d + j + 16 * k, _mm512_mul_ps(_mm512_castsi512_ps(b[k]), by));
    }
    if (j < len) pywd_q8_values_permute(m, c + j, scale, len - j, d + j);
}
#endif

static inline void pywd_q8_values(const pywd_q8_map *m, const uint8_t *c, float scale,
                                  int64_t len, float *d)
{
#ifdef PYWD_Q8_VBMI
    if (pywd_avx512vbmi()) {
        pywd_q8_values_vbmi(m, c, scale, len, d);
        return;
    }
#endif
    pywd_q8_values_permute(m, c, scale, len, d);
}

#elif defined(PYWD_Q8_AVX2)
/* The AVX2 unit: 8 lanes, the tail plainly. */
static inline float pywd_q8_max(const float *v, int64_t len)
{
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 top = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    __m128 half;
    float best, rest;
    int64_t j;
    for (j = 0; j + 8 <= len; j += 8) {
        __m256 a = _mm256_and_ps(_mm256_loadu_ps(v + j), magnitude);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
        top = _mm256_max_ps(top, a);
    }
    half = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
    half = _mm_max_ps(half, _mm_movehl_ps(half, half));
    half = _mm_max_ss(half, _mm_shuffle_ps(half, half, 1));
    best = _mm_cvtss_f32(half);
    rest = pywd_q8_max_plain(v + j, len - j);
    if (_mm256_movemask_ps(nan) || rest != rest) return pywd_u2f(0x7FC00000u);
    return rest > best ? rest : best;
}

static inline void pywd_q8_codes(const pywd_q8_map *m, const float *v, float inv, int64_t len,
                                 uint8_t *c)
{
    const __m256 scale = _mm256_set1_ps(inv);
    const __m256i low = _mm256_set1_epi32((int)PYWD_Q8_LOW);
    const __m256i one_bits = _mm256_set1_epi32(0x3F800000);
    const __m256i side = _mm256_set1_epi32(PYWD_Q8_BUCKETS);
    const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256i places = _mm256_set1_epi32(0xFFFF), code_bits = _mm256_set1_epi32(0xFF);
    /* byte 0 of each 32-bit lane to the low 4 bytes of its 128-bit half */
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1);
    int64_t j;
    for (j = 0; j + 8 <= len; j += 8) {
        __m256i bits = _mm256_castps_si256(_mm256_mul_ps(_mm256_loadu_ps(v + j), scale));
        __m256i past = _mm256_min_epu32(_mm256_and_si256(bits, magnitude), one_bits);
        __m256i negative = _mm256_srai_epi32(bits, 31), e, more, code, bytes;
        past = _mm256_sub_epi32(_mm256_max_epu32(past, low), low);
        e = _mm256_i32gather_epi32((const int *)m->entry,
                                   _mm256_add_epi32(_mm256_srli_epi32(past, PYWD_Q8_SHIFT),
                                                    _mm256_and_si256(negative, side)), 4);
        more = _mm256_cmpgt_epi32(_mm256_and_si256(past, places), _mm256_srai_epi32(e, 8));
        /* more is 0 or -1, negative too: (more ^ negative) - negative is -more where x < 0
         * and more elsewhere, so taking it away steps down or up */
        code = _mm256_sub_epi32(_mm256_and_si256(e, code_bits),
                                _mm256_sub_epi32(_mm256_xor_si256(more, negative), negative));
        bytes = _mm256_shuffle_epi8(code, pick);
        _mm_storel_epi64((__m128i *)(c + j),
                         _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes),
                                            _mm256_extracti128_si256(bytes, 1)));
    }
    pywd_q8_codes_plain(m, v + j, inv, len - j, c + j);
}

static inline void pywd_q8_values(const pywd_q8_map *m, const uint8_t *c, float scale,
                                  int64_t len, float *d)
{
    const __m256 by = _mm256_set1_ps(scale);
    int64_t j;
    for (j = 0; j + 8 <= len; j += 8) {
        __m256i code = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + j)));
        _mm256_storeu_ps(d + j, _mm256_mul_ps(_mm256_i32gather_ps(m->values, code, 4), by));
    }
    pywd_q8_values_plain(m, c + j, scale, len - j, d + j);
}
#else
#define pywd_q8_max pywd_q8_max_plain
#define pywd_q8_codes pywd_q8_codes_plain
#define pywd_q8_values pywd_q8_values_plain
#endif

/* Elements [s, s + n) of a tensor's 8-bit state (s a multiple of PYWD_Q8_BLOCK) widened into
 * dst, from its codes and its blocks' scales. */
static inline void pywd_q8_decode(const pywd_q8_map *m, const uint8_t *codes,
                                  const float *absmax, int64_t s, int64_t n, float *dst)
{
    int64_t i;
    for (i = 0; i < n; i += PYWD_Q8_BLOCK) {
        int64_t len = n - i < PYWD_Q8_BLOCK ? n - i : PYWD_Q8_BLOCK;
        pywd_q8_values(m, codes + s + i, absmax[(s + i) / PYWD_Q8_BLOCK], len, dst + i);
    }
}

/* The float32 values src of elements [s, s + n) (whole blocks: s a multiple of PYWD_Q8_BLOCK,
 * n too unless the tensor ends there) stored as codes with their blocks' new scales. */
static inline void pywd_q8_encode(const pywd_q8_map *m, const float *src, int64_t s, int64_t n,
                                  uint8_t *codes, float *absmax)
{
    int64_t i;
    for (i = 0; i < n; i += PYWD_Q8_BLOCK) {
        int64_t len = n - i < PYWD_Q8_BLOCK ? n - i : PYWD_Q8_BLOCK;
        float top = pywd_q8_max(src + i, len);
        float inv = 1.0f / (top < 1e-38f ? 1e-38f : top);
        absmax[(s + i) / PYWD_Q8_BLOCK] = top;
        if (top <= 3.4e38f) /* finite: the vector loops, which take finite values only */
            pywd_q8_codes(m, src + i, inv, len, codes + s + i);
        else                /* a block holding an infinity or a NaN: 255s and clamps */
            pywd_q8_codes_plain(m, src + i, inv, len, codes + s + i);
    }
}

#endif
