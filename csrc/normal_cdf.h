/* The standard normal CDF and its inverse in double precision, for the truncated normal fill.
 * ndtri: Wichura's AS241, as Python's statistics.NormalDist.inv_cdf (the reference's).
 * log_ndtr and ndtri_exp: log Phi and its inverse, for intervals so far in the tail that Phi
 * itself underflows (Phi(-38.5) < the smallest double) or loses its last digits to
 * denormals ([38, 39] gave NaN, [-54, -46] std gave the lower bound). */
#ifndef PYWD_NORMAL_CDF_H
#define PYWD_NORMAL_CDF_H

#include <float.h>
#include <math.h>

#include "fastmath_f64.h"

#define PYWD_SQRT1_2 0.70710678118654752440
#define PYWD_SQRT2PI 2.50662827463100050242

static inline double pywd_ndtr(double x) { return 0.5 * erfc(-x * PYWD_SQRT1_2); }

/* Wichura's AS241 (PPND16, Applied Statistics 37, 1988), about 1e-16 relative, in three
 * regions that are each a ratio of degree-7 polynomials (coefficients from the constant
 * term up): the centre |p - 1/2| <= 0.425 in r = 0.180625 - (p - 1/2)^2, times p - 1/2; the
 * tails in t = sqrt(-log min(p, 1 - p)), shifted by 1.6 up to t = 5 and by 5 beyond. Each
 * part is branch-free, so that a fill's loop over it vectorises. */
static const double pywd_as241_centre[2][8] = {
    {3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
     13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
     33430.575583588128105, 2509.0809287301226727},
    {1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
     21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852854561}};
static const double pywd_as241_tail[2][2][8] = {
    {{1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
      3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
      0.0227238449892691845833, 7.7454501427834140764e-4},
     {1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
      0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
      1.05075007164441684324e-9}},
    {{6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
      0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
      2.71155556874348757815e-5, 2.01033439929228813265e-7},
     {1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
      2.04426310338993978564e-15}}};

/* The centre, for q = p - 1/2 with |q| <= 0.425 */
static inline double pywd_ndtri_centre(double q)
{
    const double r = 0.180625 - q * q;
    double num = pywd_as241_centre[0][7], den = pywd_as241_centre[1][7];
    int k;
    for (k = 6; k >= 0; k--) { /* Horner, in Wichura's order */
        num = num * r + pywd_as241_centre[0][k];
        den = den * r + pywd_as241_centre[1][k];
    }
    return q * num / den;
}

/* The tails, for |p - 1/2| > 0.425. log is fastmath_f64.h's, whose domain (normal doubles)
 * is kept by flooring min(p, 1 - p) at DBL_MIN, below any p the fills ask for; p <= 0 gives
 * -inf and p >= 1 +inf. */
static inline double pywd_ndtri_tail(double p)
{
    const double q = p - 0.5;
    double s = pywd_select(q <= 0.0, p, 1.0 - p), t, v, num, den, x;
    int far, k;
    s = pywd_select(s > DBL_MIN, s, DBL_MIN);
    t = sqrt(-pywd_log(s));
    far = t > 5.0;
    v = pywd_select(far, t - 5.0, t - 1.6);
    num = pywd_select(far, pywd_as241_tail[1][0][7], pywd_as241_tail[0][0][7]);
    den = pywd_select(far, pywd_as241_tail[1][1][7], pywd_as241_tail[0][1][7]);
    for (k = 6; k >= 0; k--) {
        num = num * v + pywd_select(far, pywd_as241_tail[1][0][k], pywd_as241_tail[0][0][k]);
        den = den * v + pywd_select(far, pywd_as241_tail[1][1][k], pywd_as241_tail[0][1][k]);
    }
    x = pywd_select(q < 0.0, -num, num) / den;
    x = pywd_select(p > 0.0, x, -HUGE_VAL);
    return pywd_select(p < 1.0, x, HUGE_VAL);
}

#define PYWD_AS241_CENTRE 0.425

static inline double pywd_ndtri(double p)
{
    const double q = p - 0.5;
    return fabs(q) <= PYWD_AS241_CENTRE ? pywd_ndtri_centre(q) : pywd_ndtri_tail(p);
}

/* log Phi(x): by erfc while Phi(x) is a normal double, else the asymptotic series
 * Phi(x) = phi(x)/(-x) * (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...) (Abramowitz & Stegun 26.2.12),
 * whose terms fall below 1e-17 relative by the seventh for x <= -35. */
static inline double pywd_log_ndtr(double x)
{
    double r, term, sum;
    int k;
    if (x > 0.0) return log1p(-0.5 * erfc(x * PYWD_SQRT1_2));
    if (x > -35.0) return log(0.5 * erfc(-x * PYWD_SQRT1_2));
    r = 1.0 / (x * x);
    term = 1.0;
    sum = 1.0;
    for (k = 1; k <= 8; k++) {
        term *= -(2.0 * k - 1.0) * r;
        sum += term;
    }
    return -0.5 * x * x - log(-x) - log(PYWD_SQRT2PI) + log(sum);
}

/* The x with log Phi(x) = y, for y <= log(0.5) (x <= 0): Newton's method on log Phi from the
 * asymptotic estimate -x^2/2 - log(-x) - log(sqrt(2 pi)) = y (from ndtri where exp(y) is a
 * normal double); log Phi is concave, so the iterates approach from one side. */
static inline double pywd_ndtri_exp(double y)
{
    double x, step;
    int i;
    if (y == -HUGE_VAL) return -HUGE_VAL;
    if (y > -600.0) {
        x = pywd_ndtri(exp(y));
    } else {
        double t = -2.0 * y - 2.0 * log(PYWD_SQRT2PI);
        x = -sqrt(t);
        x = -sqrt(t - 2.0 * log(-x));
        x = -sqrt(t - 2.0 * log(-x));
    }
    for (i = 0; i < 6; i++) {
        double l = pywd_log_ndtr(x);
        /* f'(x) = phi(x) / Phi(x) = exp(log phi(x) - log Phi(x)) */
        step = (l - y) / exp(-0.5 * x * x - log(PYWD_SQRT2PI) - l);
        x -= step;
        if (fabs(step) <= 1e-16 * fabs(x)) break;
    }
    return x;
}

#endif
