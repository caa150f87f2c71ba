/* What the trust-ratio kernels (LAMB, LARS) share for their norm pass, stamped with their
 * bodies (NAME and `real` are the includer's; no include guard: kernels.h includes it once
 * per stamp). */
#undef PYWD_NORM_IN

/* Adds (x[i]*scale)^2, the product rounded to `real` and squared in double, into lane
 * i % PYWD_SUM_LANES, i in [0, n): the order pywd_tensor_sums' blocks promise. */
static void NAME(sumsq_lanes)(const real *PYWD_RESTRICT x, int64_t n, real scale,
                              double *PYWD_RESTRICT acc)
{
    int64_t i = 0;
    int j;
    for (; i + PYWD_SUM_LANES <= n; i += PYWD_SUM_LANES)
        for (j = 0; j < PYWD_SUM_LANES; j++) {
            double v = (double)(x[i + j] * scale);
            acc[j] += v * v;
        }
    for (j = 0; i + j < n; j++) {
        double v = (double)(x[i + j] * scale);
        acc[j] += v * v;
    }
}

/* Elements [s, s + n) of slot k's array of tensor t for the norm pass, as `real`: in place,
 * or 16-bit or 8-bit storage widened into scratch (the pass's tiles start at multiples of
 * PYWD_TILE: whole 8-bit blocks). */
#define PYWD_NORM_IN(x, k, t, base, s, n, scratch) \
    ((const real *)pywd_tile_view((x)->lowp, k, t, base, s, n, sizeof(real), scratch))
