/* Memory-bandwidth probes for `python -m pywd bench`: the simplest loops with the same
 * memory traffic as the kernels, split over threads by the same driver, so a kernel's
 * "share of bandwidth" compares like with like. */
#include "common.h"
#include "pywd.h"

typedef struct {
    float *dst;
    const float *src;
    float s;
} probe_ctx;

static void copy_span(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const probe_ctx *x = (const probe_ctx *)vctx;
    float *PYWD_RESTRICT dst = x->dst + begin;
    const float *PYWD_RESTRICT src = x->src + begin;
    int64_t i, n = end - begin;
    (void)t;
    for (i = 0; i < n; i++) dst[i] = src[i];
}

static void rmw_span(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const probe_ctx *x = (const probe_ctx *)vctx;
    float *PYWD_RESTRICT w = x->dst + begin;
    const float *PYWD_RESTRICT g = x->src + begin;
    const float s = x->s;
    int64_t i, n = end - begin;
    (void)t;
    for (i = 0; i < n; i++) w[i] = w[i] + s * g[i];
}

void pywd_probe_copy_f32(float *dst, const float *src, int64_t n)
{
    probe_ctx x = {dst, src, 0.0f};
    pywd_run_spans(1, &n, copy_span, &x);
}

void pywd_probe_rmw_f32(float *w, const float *g, float s, int64_t n)
{
    probe_ctx x = {w, g, s};
    pywd_run_spans(1, &n, rmw_span, &x);
}
