/* float64 log and sin/cos for the normal fill, as fastmath_f32.h does for float32: plain
 * arithmetic (no libm call, no branch) that the compiler vectorises, and that gives the same
 * bits in the vector loop, its scalar tail and every ISA stamp (contraction is off). The
 * series are Taylor's (atanh for log, sin and cos on [-pi/4, pi/4]), truncated where the next
 * term is below 1e-17 of the result: within about 2 ulp of the correctly rounded value on
 * the ranges used (the tests hold them to NumPy's libm). */
#ifndef PYWD_FASTMATH_F64_H
#define PYWD_FASTMATH_F64_H

#include <stdint.h>

#include "philox.h"

static inline uint64_t pywd_d2u(double d)
{
    union { double d; uint64_t u; } x;
    x.d = d;
    return x.u;
}

static inline double pywd_u2d(uint64_t u)
{
    union { double d; uint64_t u; } x;
    x.u = u;
    return x.d;
}

/* cond ? a : b on the bits, so that the loop stays branch-free */
static inline double pywd_select(int cond, double a, double b)
{
    uint64_t mask = (uint64_t)0 - (uint64_t)(cond != 0);
    return pywd_u2d((pywd_d2u(a) & mask) | (pywd_d2u(b) & ~mask));
}

/* (double)b for b < 2^53, exactly, without the int64 -> double conversion AVX2 lacks (which
 * would keep the loop scalar): b's top 52 bits by the 2^52 trick, doubled, plus its last bit */
static inline double pywd_u53_to_double(uint64_t b)
{
    double high = pywd_u2d(0x4330000000000000ull | (b >> 1)) - 4503599627370496.0;
    return (high + high) + pywd_select((int)(b & 1u), 1.0, 0.0);
}

/* The top 53 bits of the word pair w[0] (high), w[1]: a float64 fill's random integer, as an
 * exact double in [0, 2^53) */
static inline double pywd_u53_of_words(const uint32_t *w)
{
    return pywd_u53_to_double(pywd_word_pair(w) >> 11);
}

/* 2^52 + 2^51: adding it to |v| < 2^51 rounds v to an integer held in the low mantissa bits */
#define PYWD_ROUND_MAGIC 6755399441055744.0

/* Natural log of a positive, normal, finite x: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716. */
static inline double pywd_log(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01; /* 32 zero low bits: e * ln2_hi exact */
    const double ln2_lo = 1.90821492927058770002e-10;
    uint64_t ix = pywd_d2u(x);
    /* the biased exponent as a double, by the 2^52 trick (no int64 -> double conversion) */
    double e = pywd_u2d(0x4330000000000000ull | (ix >> 52)) - 4503599627370496.0 - 1022.0;
    double m = pywd_u2d((ix & 0x000fffffffffffffull) | 0x3fe0000000000000ull); /* [0.5, 1) */
    int small = m < 0.70710678118654752440;
    double s, z, p;
    m = pywd_select(small, m + m, m);
    e = pywd_select(small, e - 1.0, e);
    s = (m - 1.0) / (m + 1.0);
    z = s * s;
    p = 2.0 / 21.0;
    p = 2.0 / 19.0 + z * p;
    p = 2.0 / 17.0 + z * p;
    p = 2.0 / 15.0 + z * p;
    p = 2.0 / 13.0 + z * p;
    p = 2.0 / 11.0 + z * p;
    p = 2.0 / 9.0 + z * p;
    p = 2.0 / 7.0 + z * p;
    p = 2.0 / 5.0 + z * p;
    p = 2.0 / 3.0 + z * p;
    return e * ln2_hi + ((s + s) + (s * z * p + e * ln2_lo));
}

/* sin and cos of 2 pi u for u in [0, 1): u = q / 4 + r with q the nearest quarter turn and
 * |r| <= 1/8 (exact: u and q/4 share the 2^-53 grid), x = 2 pi r in [-pi/4, pi/4], and the
 * quarter turns applied by swapping and negating (sin(x + q pi/2), cos(x + q pi/2)). */
static inline void pywd_sincos_turns_f64(double u, double *sin_out, double *cos_out)
{
    double t = 4.0 * u + PYWD_ROUND_MAGIC;
    unsigned q = (unsigned)(pywd_d2u(t) & 3u);
    double r = u - 0.25 * (t - PYWD_ROUND_MAGIC);
    double x = 6.283185307179586476925 * r, z = x * x, ps, pc, s, c;
    ps = -1.0 / 1307674368000.0;
    ps = 1.0 / 6227020800.0 + z * ps;
    ps = -1.0 / 39916800.0 + z * ps;
    ps = 1.0 / 362880.0 + z * ps;
    ps = -1.0 / 5040.0 + z * ps;
    ps = 1.0 / 120.0 + z * ps;
    ps = -1.0 / 6.0 + z * ps;
    s = x + x * (z * ps);
    pc = 1.0 / 20922789888000.0;
    pc = -1.0 / 87178291200.0 + z * pc;
    pc = 1.0 / 479001600.0 + z * pc;
    pc = -1.0 / 3628800.0 + z * pc;
    pc = 1.0 / 40320.0 + z * pc;
    pc = -1.0 / 720.0 + z * pc;
    pc = 1.0 / 24.0 + z * pc;
    c = (1.0 - 0.5 * z) + z * (z * pc);
    *sin_out = pywd_select(q & 1u, c, s) * pywd_select(q & 2u, -1.0, 1.0);
    *cos_out = pywd_select(q & 1u, s, c) * pywd_select((q + 1u) & 2u, -1.0, 1.0);
}

#undef PYWD_ROUND_MAGIC
#endif
