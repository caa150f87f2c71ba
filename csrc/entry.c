/* The public entry points (pywd.h): each forwards to the fastest unit this CPU runs
 * (unit_avx2.c or unit_baseline.c; dispatch.h), chosen once per process. */
#include "common.h"
#include "dispatch.h"
#include "optim/list.h"
#include "philox.h"
#include "pywd.h"

#define PYWD_OPTIMISER_ENTRY(opt)                                                             \
    PYWD_DISPATCH(pywd_##opt##_f32,                                                            \
                  (const pywd_##opt##_hyper *h, int64_t n, void **const *slots,         \
                   const int64_t *sizes),                                                      \
                  (h, n, slots, sizes))                                                        \
    PYWD_DISPATCH(pywd_##opt##_f64,                                                            \
                  (const pywd_##opt##_hyper *h, int64_t n, void **const *slots,         \
                   const int64_t *sizes),                                                      \
                  (h, n, slots, sizes))
PYWD_ELEMENTWISE_OPTIMISERS(PYWD_OPTIMISER_ENTRY)

#define PYWD_TRUST_RATIO_ENTRY(opt, state, args)                                              \
    PYWD_DISPATCH(pywd_##opt##_f32,                                                            \
                  (const pywd_##opt##_hyper *h, int64_t n, float *const *params,               \
                   const float *const *grads, PYWD_STATE_##state(float), const int64_t *sizes), \
                  args)                                                                        \
    PYWD_DISPATCH(pywd_##opt##_f64,                                                            \
                  (const pywd_##opt##_hyper *h, int64_t n, double *const *params,              \
                   const double *const *grads, PYWD_STATE_##state(double),                     \
                   const int64_t *sizes),                                                      \
                  args)
#define PYWD_STATE_MOMENTS(real) real *const *exp_avgs, real *const *exp_avg_sqs
#define PYWD_STATE_BUFS(real) real *const *bufs
#define PYWD_STATE_FACTORS(real) \
    real *const *row_vars, real *const *col_vars, real *const *variances
PYWD_TRUST_RATIO_ENTRY(lamb, MOMENTS, (h, n, params, grads, exp_avgs, exp_avg_sqs, sizes))
PYWD_TRUST_RATIO_ENTRY(lars, BUFS, (h, n, params, grads, bufs, sizes))
PYWD_TRUST_RATIO_ENTRY(adafactor, FACTORS,
                       (h, n, params, grads, row_vars, col_vars, variances, sizes))

#define FILL_PARAMS(real) (const pywd_fill_hyper *h, real *dst, int64_t n)
PYWD_DISPATCH(pywd_fill_f32, FILL_PARAMS(float), (h, dst, n))
PYWD_DISPATCH(pywd_fill_f64, FILL_PARAMS(double), (h, dst, n))

#define SUMSQ_PARAMS(real) \
    (int64_t n, const real *const *x, const int64_t *sizes, double scale, double *acc)
PYWD_DISPATCH(pywd_sumsq_f32, SUMSQ_PARAMS(float), (n, x, sizes, scale, acc))
PYWD_DISPATCH(pywd_sumsq_f64, SUMSQ_PARAMS(double), (n, x, sizes, scale, acc))
PYWD_DISPATCH(pywd_sumsq_16,
              (int dtype, int64_t n, const uint16_t *const *x, const int64_t *sizes,
               double scale, double *acc),
              (dtype, n, x, sizes, scale, acc))

void pywd_philox_words(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    pywd_philox_block b =
        pywd_philox4x32(counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
    int j;
    for (j = 0; j < 4; j++) out[j] = b.v[j];
}

PYWD_DISPATCH(pywd_q8_quantize,
              (const struct pywd_q8_map *m, const float *src, int64_t n, unsigned char *codes,
               float *absmax),
              (m, src, n, codes, absmax))
PYWD_DISPATCH(pywd_q8_dequantize,
              (const struct pywd_q8_map *m, const unsigned char *codes, const float *absmax, int64_t n,
               float *dst),
              (m, codes, absmax, n, dst))

PYWD_DISPATCH(pywd_rounding_bits,
              (uint64_t seed, uint64_t step, uint32_t id, int k, int64_t start, int64_t n,
               uint16_t *out),
              (seed, step, id, k, start, n, out))
