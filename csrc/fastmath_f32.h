/* float32 log and sin/cos for the normal fill, written as plain arithmetic (Cephes' minimax
 * polynomials, S. Moshier) so that the compiler vectorises them and, with contraction off,
 * the vector loop and the scalar head and tail give the same bits for an element: a fill is
 * then the same however it is split. Accurate to about 2 ulp on the ranges used. */
#ifndef PYWD_FASTMATH_F32_H
#define PYWD_FASTMATH_F32_H

#include <math.h> /* sqrtf: this header is complete by itself */
#include <stdint.h>

static inline uint32_t pywd_f2u(float f)
{
    union { float f; uint32_t u; } x;
    x.f = f;
    return x.u;
}

static inline float pywd_u2f(uint32_t u)
{
    union { float f; uint32_t u; } x;
    x.u = u;
    return x.f;
}

/* cond ? a : b without a branch: gcc sometimes turns a ?: into control flow (to skip the
 * work of the unused side), which stops the loop from vectorising. */
static inline float pywd_selectf(int cond, float a, float b)
{
    uint32_t mask = (uint32_t)0 - (uint32_t)(cond != 0);
    return pywd_u2f((pywd_f2u(a) & mask) | (pywd_f2u(b) & ~mask));
}

/* Natural log of a positive, normal, finite x (Cephes logf). */
static inline float pywd_logf(float x)
{
    uint32_t ix = pywd_f2u(x);
    int e = (int)((ix >> 23) & 0xffu) - 126;            /* x = m * 2^e, m in [0.5, 1) */
    float m = pywd_u2f((ix & 0x007fffffu) | 0x3f000000u);
    /* keep m - 1 in [-0.29, 0.41]: below sqrt(1/2), use 2m and e - 1 (selects, no branch) */
    int small = m < 0.70710678118654752440f;
    float fe, z, y;
    e = e - small;
    m = (m - 1.0f) + pywd_selectf(small, m, 0.0f);
    z = m * m;
    y = 7.0376836292E-2f;
    y = y * m - 1.1514610310E-1f;
    y = y * m + 1.1676998740E-1f;
    y = y * m - 1.2420140846E-1f;
    y = y * m + 1.4249322787E-1f;
    y = y * m - 1.6668057665E-1f;
    y = y * m + 2.0000714765E-1f;
    y = y * m - 2.4999993993E-1f;
    y = y * m + 3.3333331174E-1f;
    y = y * m * z;
    fe = (float)e;
    y = y + fe * -2.12194440E-4f;                       /* ln 2 split in two (Cody-Waite) */
    y = y - 0.5f * z;
    return (m + y) + fe * 0.693359375f;
}

/* sin(2*pi*u) and cos(2*pi*u) for u in [0, 1): the quadrant comes straight from u (no
 * general range reduction), then Cephes' sinf/cosf polynomials on [-pi/4, pi/4]. */
static inline void pywd_sincos_turns(float u, float *sin_out, float *cos_out)
{
    float t = u * 4.0f;                                  /* exact */
    int q = (int)(t + 0.5f);                             /* nearest quarter turn */
    float x = (t - (float)q) * 1.57079632679489661923f;  /* in [-pi/4, pi/4] */
    float z = x * x;
    float s = ((-1.9515295891E-4f * z + 8.3321608736E-3f) * z - 1.6666654611E-1f) * z * x + x;
    float c = ((2.443315711809948E-5f * z - 1.388731625493765E-3f) * z +
               4.166664568298827E-2f) * z * z - 0.5f * z + 1.0f;
    int odd = q & 1;
    float sv = odd ? c : s, cv = odd ? s : c;
    *sin_out = (q & 2) ? -sv : sv;
    *cos_out = ((q + 1) & 2) ? -cv : cv;
}

/* erfinv(x) for x in (-1, 1), M. Giles, "Approximating the erfinv function" (GPU Computing
 * Gems, 2011), single-precision version, in two parts so that the common case vectorises:
 * pywd_erfinvf_w gives w = -log((1 - x)(1 + x)); where w < 5 (|x| < 0.9966, all but 0.34% of
 * uniform draws) erfinv(x) = pywd_erfinvf_central(x, w), else pywd_erfinvf_tail(x, w). */
static inline float pywd_erfinvf_w(float x)
{
    float t = (1.0f - x) * (1.0f + x);
    return -pywd_logf(pywd_selectf(t < 1.17549435e-38f, 1.17549435e-38f, t));
}

static inline float pywd_erfinvf_central(float x, float w)
{
    float c = w - 2.5f, p = 2.81022636e-08f;
    p = 3.43273939e-07f + p * c;
    p = -3.5233877e-06f + p * c;
    p = -4.39150654e-06f + p * c;
    p = 0.00021858087f + p * c;
    p = -0.00125372503f + p * c;
    p = -0.00417768164f + p * c;
    p = 0.246640727f + p * c;
    p = 1.50140941f + p * c;
    return p * x;
}

static inline float pywd_erfinvf_tail(float x, float w)
{
    float c = sqrtf(w) - 3.0f, q = -0.000200214257f;
    q = 0.000100950558f + q * c;
    q = 0.00134934322f + q * c;
    q = -0.00367342844f + q * c;
    q = 0.00573950773f + q * c;
    q = -0.0076224613f + q * c;
    q = 0.00943887047f + q * c;
    q = 1.00167406f + q * c;
    q = 2.83297682f + q * c;
    return q * x;
}

#endif
