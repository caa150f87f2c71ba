/* Philox4x32-10 for 8 consecutive blocks at once with AVX2 (included only by AVX2 units).
 * Each 64-bit lane carries one block's counter word in its low half (the high half is ignored
 * until the end): _mm256_mul_epu32 then gives the full 32x32 -> 64 product in place, its low
 * half is the next "lo" word and a 32-bit shift brings down "hi", with no shuffles. Two
 * registers of 4 lanes make 8 blocks. Integer arithmetic is exact, so the words equal
 * pywd_philox4x32's bit for bit (tests compare both with Random123's vectors). */
#ifndef PYWD_PHILOX_AVX2_H
#define PYWD_PHILOX_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "philox.h"

typedef struct {
    __m256i c0, c1, c2, c3;
} pywd_philox4_state;

static inline void pywd_philox4_round(pywd_philox4_state *s, __m256i m0, __m256i m1, __m256i k0,
                                      __m256i k1)
{
    __m256i p0 = _mm256_mul_epu32(s->c0, m0), p1 = _mm256_mul_epu32(s->c2, m1);
    __m256i c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), s->c1), k0);
    __m256i c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), s->c3), k1);
    s->c1 = p1; /* low half: lo(M1*c2) */
    s->c3 = p0; /* low half: lo(M0*c0) */
    s->c0 = c0;
    s->c2 = c2;
}

/* The 4 blocks' 16 words, block-major, from the low halves of the state. */
static inline void pywd_philox4_store(const pywd_philox4_state *s, uint32_t *w)
{
    const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF);
    __m256i t = _mm256_or_si256(_mm256_and_si256(s->c0, low), _mm256_slli_epi64(s->c1, 32));
    __m256i u = _mm256_or_si256(_mm256_and_si256(s->c2, low), _mm256_slli_epi64(s->c3, 32));
    __m256i lo = _mm256_unpacklo_epi64(t, u), hi = _mm256_unpackhi_epi64(t, u);
    _mm256_storeu_si256((__m256i *)w, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(w + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* Words of the blocks with counters (first + j, c2, c3), j = 0 .. 8*(count/8) - 1, into w (4
 * words per block, in order; the 64-bit first + j is counter words 0 and 1); returns how many
 * blocks it did (a multiple of 8). */
static inline int pywd_philox_words_x8(uint32_t k0, uint32_t k1, uint64_t first, uint32_t c2,
                                       uint32_t c3, int count, uint32_t *w)
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i four = _mm256_set1_epi64x(4), eight = _mm256_set1_epi64x(8);
    __m256i key0[PHILOX_ROUNDS], key1[PHILOX_ROUNDS], ctr;
    int k, r;
    for (r = 0; r < PHILOX_ROUNDS; r++) { /* the key schedule, once */
        key0[r] = _mm256_set1_epi64x((int64_t)(uint32_t)(k0 + (uint32_t)r * PHILOX_W0));
        key1[r] = _mm256_set1_epi64x((int64_t)(uint32_t)(k1 + (uint32_t)r * PHILOX_W1));
    }
    ctr = _mm256_add_epi64(_mm256_set1_epi64x((int64_t)first), _mm256_set_epi64x(3, 2, 1, 0));
    for (k = 0; k + 8 <= count; k += 8) {
        pywd_philox4_state a, b;
        __m256i ctr_b = _mm256_add_epi64(ctr, four);
        a.c0 = ctr;
        a.c1 = _mm256_srli_epi64(ctr, 32);
        b.c0 = ctr_b;
        b.c1 = _mm256_srli_epi64(ctr_b, 32);
        a.c2 = b.c2 = _mm256_set1_epi64x((int64_t)c2);
        a.c3 = b.c3 = _mm256_set1_epi64x((int64_t)c3);
        for (r = 0; r < PHILOX_ROUNDS; r++) {
            pywd_philox4_round(&a, m0, m1, key0[r], key1[r]);
            pywd_philox4_round(&b, m0, m1, key0[r], key1[r]);
        }
        pywd_philox4_store(&a, w + 4 * k);
        pywd_philox4_store(&b, w + 4 * k + 16);
        ctr = _mm256_add_epi64(ctr, eight);
    }
    return k;
}

#endif
