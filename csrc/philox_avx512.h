/* Philox4x32-10 for 16 consecutive blocks at once with AVX-512 (included only by the AVX-512
 * unit): philox_avx2.h's scheme on 8 lanes a register (each 64-bit lane carries one block's
 * counter word in its low half; _mm512_mul_epu32 gives the 32x32 -> 64 product in place).
 * Integer arithmetic is exact, so the words equal pywd_philox4x32's bit for bit. */
#ifndef PYWD_PHILOX_AVX512_H
#define PYWD_PHILOX_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "philox.h"
#include "philox_avx2.h"

typedef struct {
    __m512i c0, c1, c2, c3;
} pywd_philox8_state;

static inline void pywd_philox8_round(pywd_philox8_state *s, __m512i m0, __m512i m1, __m512i k0,
                                      __m512i k1)
{
    __m512i p0 = _mm512_mul_epu32(s->c0, m0), p1 = _mm512_mul_epu32(s->c2, m1);
    __m512i c0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), s->c1), k0);
    __m512i c2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), s->c3), k1);
    s->c1 = p1; /* low half: lo(M1*c2) */
    s->c3 = p0; /* low half: lo(M0*c0) */
    s->c0 = c0;
    s->c2 = c2;
}

/* The 8 blocks' 32 words, block-major: lane j's (w0, w1) and (w2, w3) as 64-bit pairs,
 * interleaved. */
static inline void pywd_philox8_store(const pywd_philox8_state *s, uint32_t *w)
{
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
    const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512i t = _mm512_or_si512(_mm512_and_si512(s->c0, low), _mm512_slli_epi64(s->c1, 32));
    __m512i u = _mm512_or_si512(_mm512_and_si512(s->c2, low), _mm512_slli_epi64(s->c3, 32));
    _mm512_storeu_si512((void *)w, _mm512_permutex2var_epi64(t, first, u));
    _mm512_storeu_si512((void *)(w + 16), _mm512_permutex2var_epi64(t, second, u));
}

/* As pywd_philox_words_x8, 16 blocks a pass (then 8 for what is left); returns how many
 * blocks it did (a multiple of 8). */
static inline int pywd_philox_words_x16(uint32_t k0, uint32_t k1, uint64_t first, uint32_t c2,
                                        uint32_t c3, int count, uint32_t *w)
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    const __m512i eight = _mm512_set1_epi64(8), sixteen = _mm512_set1_epi64(16);
    __m512i key0[PHILOX_ROUNDS], key1[PHILOX_ROUNDS], ctr;
    int k, r;
    for (r = 0; r < PHILOX_ROUNDS; r++) { /* the key schedule, once */
        key0[r] = _mm512_set1_epi64((int64_t)(uint32_t)(k0 + (uint32_t)r * PHILOX_W0));
        key1[r] = _mm512_set1_epi64((int64_t)(uint32_t)(k1 + (uint32_t)r * PHILOX_W1));
    }
    ctr = _mm512_add_epi64(_mm512_set1_epi64((int64_t)first),
                           _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    for (k = 0; k + 16 <= count; k += 16) {
        pywd_philox8_state a, b;
        __m512i ctr_b = _mm512_add_epi64(ctr, eight);
        a.c0 = ctr;
        a.c1 = _mm512_srli_epi64(ctr, 32);
        b.c0 = ctr_b;
        b.c1 = _mm512_srli_epi64(ctr_b, 32);
        a.c2 = b.c2 = _mm512_set1_epi64((int64_t)c2);
        a.c3 = b.c3 = _mm512_set1_epi64((int64_t)c3);
        for (r = 0; r < PHILOX_ROUNDS; r++) {
            pywd_philox8_round(&a, m0, m1, key0[r], key1[r]);
            pywd_philox8_round(&b, m0, m1, key0[r], key1[r]);
        }
        pywd_philox8_store(&a, w + 4 * k);
        pywd_philox8_store(&b, w + 4 * k + 32);
        ctr = _mm512_add_epi64(ctr, sixteen);
    }
    return k + pywd_philox_words_x8(k0, k1, first + (uint64_t)k, c2, c3, count - k, w + 4 * k);
}

#endif
