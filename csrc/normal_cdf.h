/* The standard normal CDF and its inverse in double precision, for the truncated normal fill.
 * ndtri: P. J. Acklam's rational approximation (relative error 1.15e-9) refined by one Halley
 * step on erfc, which brings it to about 1e-15.
 * log_ndtr and ndtri_exp: log Phi and its inverse, for intervals so far in the tail that Phi
 * itself underflows (Phi(-38.5) < the smallest double) or loses its last digits to
 * denormals (issue 18: [38, 39] gave NaN, [-54, -46] std gave the lower bound). */
#ifndef PYWD_NORMAL_CDF_H
#define PYWD_NORMAL_CDF_H

#include <math.h>

#define PYWD_SQRT1_2 0.70710678118654752440
#define PYWD_SQRT2PI 2.50662827463100050242

static inline double pywd_ndtr(double x) { return 0.5 * erfc(-x * PYWD_SQRT1_2); }

static inline double pywd_ndtri(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    const double p_low = 0.02425;
    double q, r, x, e, u;
    if (!(p > 0.0)) return -HUGE_VAL;
    if (!(p < 1.0)) return HUGE_VAL;
    if (p < p_low) {
        q = sqrt(-2.0 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    } else if (p <= 1.0 - p_low) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    } else {
        q = sqrt(-2.0 * log(1.0 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    /* one Halley step: e = Phi(x) - p, u = e / phi(x) */
    e = pywd_ndtr(x) - p;
    u = e * PYWD_SQRT2PI * exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
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
