/* pywd_tensor_sums (common.h): per-tensor sums by fixed blocks, whatever the thread count. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define PYWD_MAX_SUMS 4 /* sums per element a caller may ask for */

typedef struct {
    pywd_block_sums_fn fn;
    const void *ctx;
    const int64_t *sizes, *first_block; /* tensor t holds blocks [first_block[t], [t+1]) */
    int k;
    double *partial; /* k sums per block */
} tensor_sums_ctx;

static void run_blocks(const void *vctx, int64_t lo, int64_t hi)
{
    const tensor_sums_ctx *c = (const tensor_sums_ctx *)vctx;
    int64_t t = 0, block;
    for (block = lo; block < hi; block++) {
        int64_t begin, len;
        while (c->first_block[t + 1] <= block) t++;
        begin = (block - c->first_block[t]) * PYWD_SUM_BLOCK;
        len = c->sizes[t] - begin < PYWD_SUM_BLOCK ? c->sizes[t] - begin : PYWD_SUM_BLOCK;
        memset(c->partial + block * c->k, 0, (size_t)c->k * sizeof(double));
        c->fn(c->ctx, t, begin, len, c->partial + block * c->k);
    }
}

/* One thread: each block's sums into a zeroed scratch, then added in block order (the same
 * additions as the threaded walk's). */
static void serial_sums(int64_t n, const int64_t *sizes, int k, pywd_block_sums_fn fn,
                        const void *ctx, double *out)
{
    int64_t t, begin;
    int j;
    for (t = 0; t < n; t++)
        for (begin = 0; begin < sizes[t]; begin += PYWD_SUM_BLOCK) {
            double block[PYWD_MAX_SUMS] = {0};
            int64_t len = sizes[t] - begin < PYWD_SUM_BLOCK ? sizes[t] - begin : PYWD_SUM_BLOCK;
            fn(ctx, t, begin, len, block);
            for (j = 0; j < k; j++) out[t * k + j] += block[j];
        }
}

void pywd_tensor_sums(int64_t n, const int64_t *sizes, int k, pywd_block_sums_fn fn,
                      const void *ctx, double *out)
{
    tensor_sums_ctx c;
    int64_t t, total = 0, nblocks = 0, block;
    int64_t *first_block;
    double *partial;
    int j;
    for (t = 0; t < n; t++) {
        total += sizes[t];
        nblocks += (sizes[t] + PYWD_SUM_BLOCK - 1) / PYWD_SUM_BLOCK;
    }
    if (pywd_team_size(total) <= 1) {
        serial_sums(n, sizes, k, fn, ctx, out);
        return;
    }
    first_block = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    partial = (double *)malloc((size_t)(nblocks * k) * sizeof(double));
    if (!first_block || !partial) { /* out of memory: the serial walk needs none */
        free(first_block);
        free(partial);
        serial_sums(n, sizes, k, fn, ctx, out);
        return;
    }
    first_block[0] = 0;
    for (t = 0; t < n; t++)
        first_block[t + 1] = first_block[t] + (sizes[t] + PYWD_SUM_BLOCK - 1) / PYWD_SUM_BLOCK;
    c.fn = fn;
    c.ctx = ctx;
    c.sizes = sizes;
    c.first_block = first_block;
    c.k = k;
    c.partial = partial;
    pywd_run_blocks(nblocks, total, run_blocks, &c);
    for (t = 0; t < n; t++)
        for (block = first_block[t]; block < first_block[t + 1]; block++)
            for (j = 0; j < k; j++) out[t * k + j] += partial[block * k + j];
    free(first_block);
    free(partial);
}
