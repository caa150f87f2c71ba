/* Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011; the Random123 library): a counter-based generator. Output = bijection of a 128-bit
 * counter under a 64-bit key, so block k of a stream is computed directly from (key, k):
 * any thread, any split of the work, gives the same numbers. Checked against Random123's
 * published known-answer vectors in tests/test_generator.py. */
#ifndef PYWD_PHILOX_H
#define PYWD_PHILOX_H

#include <stdint.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u /* round multipliers (Random123 philox.h) */
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* key schedule increments: golden ratio, sqrt(3) - 1 */
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

typedef struct {
    uint32_t v[4];
} pywd_philox_block;

/* The four 32-bit words for counter (c0, c1, c2, c3) under key (k0, k1). */
static inline pywd_philox_block pywd_philox4x32(uint32_t c0, uint32_t c1, uint32_t c2,
                                                uint32_t c3, uint32_t k0, uint32_t k1)
{
    pywd_philox_block out;
    int r;
    for (r = 0; r < PHILOX_ROUNDS; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out.v[0] = c0;
    out.v[1] = c1;
    out.v[2] = c2;
    out.v[3] = c3;
    return out;
}

/* Two consecutive words as one 64-bit integer, w[0] the high half: a 64-bit load and a swap
 * of its halves, which vectorises (word by word, the compiler gathers). */
static inline uint64_t pywd_word_pair(const uint32_t *w)
{
    uint64_t q;
    memcpy(&q, w, sizeof q);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return q;
#else
    return (q << 32) | (q >> 32);
#endif
}

#endif
