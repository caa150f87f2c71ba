/* Philox4x32-10 for 8 consecutive blocks at once with AVX2 (included only by AVX2 units).
 * The counters' four words sit in four vectors of 8 lanes; _mm256_mul_epu32 gives the 32x32
 * -> 64-bit products of the even lanes, a 32-bit shift brings the odd lanes in. Integer
 * arithmetic is exact, so the words equal pywd_philox4x32's bit for bit. */
#ifndef PYWD_PHILOX_AVX2_H
#define PYWD_PHILOX_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "philox.h"

/* lo and hi halves of the 8 products a * m (m: the multiplier in every 64-bit lane) */
static inline void pywd_mulhilo8(__m256i a, __m256i m, __m256i *lo, __m256i *hi)
{
    __m256i even = _mm256_mul_epu32(a, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Words of blocks first .. first + 8*(count/8) - 1 into w (4 words per block, in order);
 * returns how many blocks it did (a multiple of 8). */
static inline int pywd_philox_words_x8(uint32_t k0, uint32_t k1, uint64_t first, int count,
                                       uint32_t *w)
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    int k, r, l;
    for (k = 0; k + 8 <= count; k += 8) {
        uint32_t lo32[8], hi32[8];
        __m256i c0, c1, c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
        __m256i t0, t1, t2, t3, u0, u1, u2, u3;
        uint32_t key0 = k0, key1 = k1;
        for (l = 0; l < 8; l++) {
            uint64_t c = first + (uint64_t)(k + l);
            lo32[l] = (uint32_t)c;
            hi32[l] = (uint32_t)(c >> 32);
        }
        c0 = _mm256_loadu_si256((const __m256i *)lo32);
        c1 = _mm256_loadu_si256((const __m256i *)hi32);
        for (r = 0; r < PHILOX_ROUNDS; r++) {
            __m256i lo0, hi0, lo1, hi1;
            pywd_mulhilo8(c0, m0, &lo0, &hi0);
            pywd_mulhilo8(c2, m1, &lo1, &hi1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)key0));
            c1 = lo1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)key1));
            c3 = lo0;
            key0 += PHILOX_W0;
            key1 += PHILOX_W1;
        }
        /* transpose: lanes are blocks, vectors are words -> block-major words */
        t0 = _mm256_unpacklo_epi32(c0, c1);
        t1 = _mm256_unpackhi_epi32(c0, c1);
        t2 = _mm256_unpacklo_epi32(c2, c3);
        t3 = _mm256_unpackhi_epi32(c2, c3);
        u0 = _mm256_unpacklo_epi64(t0, t2); /* blocks 0 | 4 */
        u1 = _mm256_unpackhi_epi64(t0, t2); /* blocks 1 | 5 */
        u2 = _mm256_unpacklo_epi64(t1, t3); /* blocks 2 | 6 */
        u3 = _mm256_unpackhi_epi64(t1, t3); /* blocks 3 | 7 */
        _mm256_storeu_si256((__m256i *)(w + 4 * k), _mm256_permute2x128_si256(u0, u1, 0x20));
        _mm256_storeu_si256((__m256i *)(w + 4 * k + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
        _mm256_storeu_si256((__m256i *)(w + 4 * k + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
        _mm256_storeu_si256((__m256i *)(w + 4 * k + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
    }
    return k;
}

#endif
