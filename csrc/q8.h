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
 * The count is found without a search: |x|'s float32 bits past 2^-24 (below it no midpoint
 * lies), shifted right by PYWD_Q8_SHIFT, index a table of how many midpoints lie below each
 * bucket's start; the buckets are narrow enough to hold at most one midpoint (checked when
 * the tables are made, csrc/q8.c), so one comparison finishes the count. Positive x counts
 * the midpoints >= 0 below it; negative x counts, among the negative midpoints' magnitudes,
 * those at or below |x| and takes that from their number. */
#ifndef PYWD_Q8_H
#define PYWD_Q8_H

#include <stdint.h>

#include "fastmath_f32.h" /* pywd_f2u, pywd_u2f */

#define PYWD_Q8_BLOCK 256
#define PYWD_Q8_LOW 0x33800000u /* 2^-24's bits: every bucket below it is bucket 0 */
#define PYWD_Q8_SHIFT 16
#define PYWD_Q8_BUCKETS (((0x3F800000u - PYWD_Q8_LOW) >> PYWD_Q8_SHIFT) + 2)

typedef struct pywd_q8_map {
    float values[256];          /* the map, ascending */
    float up[257];              /* the midpoints >= 0, ascending, then +inf */
    float down[257];            /* the magnitudes of the midpoints < 0, ascending, then +inf */
    int32_t n_down;             /* how many midpoints are < 0 (the code of -0 .. +0: n_down) */
    uint8_t up_start[PYWD_Q8_BUCKETS];   /* per bucket: how many `up` lie below its start */
    uint8_t down_start[PYWD_Q8_BUCKETS]; /* the same for `down` */
} pywd_q8_map;

/* The maps (csrc/q8.c): 0 unsigned, 1 signed. */
const pywd_q8_map *pywd_q8_map_of(int is_signed);

/* (a NaN's bits lie past 1's: its bucket is clamped to the last, so no table is read out of
 * bounds whatever the value) */
static inline uint32_t pywd_q8_bucket(float magnitude)
{
    uint32_t b = pywd_f2u(magnitude);
    b = (b > PYWD_Q8_LOW ? b - PYWD_Q8_LOW : 0u) >> PYWD_Q8_SHIFT;
    return b < PYWD_Q8_BUCKETS - 1 ? b : PYWD_Q8_BUCKETS - 1;
}

/* The code of x (already scaled and clamped to [-1, 1], or NaN). */
static inline uint8_t pywd_q8_code(const pywd_q8_map *m, float x)
{
    float a = fabsf(x); /* (-0.0 too: its sign bit would pick the last bucket) */
    uint32_t bucket = pywd_q8_bucket(a);
    int32_t up = m->up_start[bucket], down = m->down_start[bucket];
    up += m->up[up] < a;
    down += m->down[down] <= a;
    if (x != x) return 255;
    return (uint8_t)(x < 0.0f ? m->n_down - down : m->n_down + up);
}

/* Elements [s, s + n) of a tensor's 8-bit state (s a multiple of PYWD_Q8_BLOCK) widened into
 * dst, from its codes and its blocks' scales. */
static inline void pywd_q8_decode(const pywd_q8_map *m, const uint8_t *codes,
                                  const float *absmax, int64_t s, int64_t n, float *dst)
{
    int64_t i, j;
    for (i = 0; i < n; i += PYWD_Q8_BLOCK) {
        int64_t len = n - i < PYWD_Q8_BLOCK ? n - i : PYWD_Q8_BLOCK;
        const float scale = absmax[(s + i) / PYWD_Q8_BLOCK];
        const uint8_t *c = codes + s + i;
        float *d = dst + i;
        for (j = 0; j < len; j++) d[j] = m->values[c[j]] * scale;
    }
}

/* The float32 values src of elements [s, s + n) (whole blocks: s a multiple of PYWD_Q8_BLOCK,
 * n too unless the tensor ends there) stored as codes with their blocks' new scales. */
static inline void pywd_q8_encode(const pywd_q8_map *m, const float *src, int64_t s, int64_t n,
                                  uint8_t *codes, float *absmax)
{
    int64_t i, j;
    for (i = 0; i < n; i += PYWD_Q8_BLOCK) {
        int64_t len = n - i < PYWD_Q8_BLOCK ? n - i : PYWD_Q8_BLOCK;
        const float *v = src + i;
        uint8_t *c = codes + s + i;
        float top = 0.0f, inv;
        int nan = 0;
        for (j = 0; j < len; j++) {
            float a = fabsf(v[j]);
            top = a > top ? a : top;
            nan |= v[j] != v[j];
        }
        if (nan) top = pywd_u2f(0x7FC00000u); /* torch's max: NaN if any is (the quiet one) */
        absmax[(s + i) / PYWD_Q8_BLOCK] = top;
        inv = 1.0f / (top < 1e-38f ? 1e-38f : top);
        for (j = 0; j < len; j++) {
            float x = v[j] * inv;
            x = x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
            c[j] = pywd_q8_code(m, x);
        }
    }
}

#endif
