/* Sum of squares of a list of tensors (the global gradient norm of max_grad_norm= and the
 * non-finite check of nonfinite=), stamped per dtype and ISA unit (kernels.h).
 *
 * Reproducible by construction: each tensor is cut into blocks of PYWD_NORM_BLOCK elements,
 * each block is summed in double in a fixed order (16 running lanes, then added pairwise),
 * and the block sums are added one after another in list order. Threads only decide who
 * computes which block sums, never how they are added, so the bytes do not depend on the
 * thread count, and both ISAs do the same IEEE operations (no contraction, no reassociation). */

#ifndef PYWD_NORM_BLOCK
#define PYWD_NORM_BLOCK 8192
#define PYWD_NORM_LANES 16
#endif

static double NAME(block_sumsq)(const real *PYWD_RESTRICT x, int64_t n, double scale)
{
    double acc[PYWD_NORM_LANES] = {0};
    int64_t i = 0;
    int j, width;
    for (; i + PYWD_NORM_LANES <= n; i += PYWD_NORM_LANES)
        for (j = 0; j < PYWD_NORM_LANES; j++) {
            double v = (double)x[i + j] * scale;
            acc[j] += v * v;
        }
    for (j = 0; i + j < n; j++) {
        double v = (double)x[i + j] * scale;
        acc[j] += v * v;
    }
    for (width = PYWD_NORM_LANES / 2; width >= 1; width /= 2)
        for (j = 0; j < width; j++) acc[j] += acc[j + width];
    return acc[0];
}

/* The sum of elements [begin, begin + len) of tensor x, len <= PYWD_NORM_BLOCK: 16-bit
 * tensors are widened to float32 first (exactly), so they sum as their float32 copies do. */
static double NAME(block_at)(const void *x, int dtype, int64_t begin, int64_t len, double scale)
{
#if !REAL_IS_DOUBLE
    if (dtype != PYWD_DTYPE_F32) {
        float tile[PYWD_NORM_BLOCK];
        return NAME(block_sumsq)(pywd_tile_in(dtype, (void *)x, begin, len, tile), len, scale);
    }
#endif
    (void)dtype;
    return NAME(block_sumsq)((const real *)x + begin, len, scale);
}

typedef struct {
    const void *const *x;
    int dtype;                  /* enum pywd_dtype of the float32 stamp's tensors */
    const int64_t *sizes;
    const int64_t *first_block; /* tensor t holds blocks [first_block[t], first_block[t+1]) */
    double scale;
    double *partial;            /* one sum per block */
} NAME(norm_ctx);

static void NAME(norm_blocks)(const void *vctx, int64_t lo, int64_t hi)
{
    const NAME(norm_ctx) *c = (const NAME(norm_ctx) *)vctx;
    int64_t t = 0, block;
    for (block = lo; block < hi; block++) {
        int64_t begin, end;
        while (c->first_block[t + 1] <= block) t++;
        begin = (block - c->first_block[t]) * PYWD_NORM_BLOCK;
        end = begin + PYWD_NORM_BLOCK < c->sizes[t] ? begin + PYWD_NORM_BLOCK : c->sizes[t];
        c->partial[block] = NAME(block_at)(c->x[t], c->dtype, begin, end - begin, c->scale);
    }
}

/* The serial walk: the same block sums, added in the same order as the threaded one. */
static void NAME(sumsq_serial)(int64_t n, const void *const *x, int dtype,
                               const int64_t *sizes, double scale, double *acc)
{
    int64_t t, begin;
    for (t = 0; t < n; t++)
        for (begin = 0; begin < sizes[t]; begin += PYWD_NORM_BLOCK) {
            int64_t len = sizes[t] - begin < PYWD_NORM_BLOCK ? sizes[t] - begin : PYWD_NORM_BLOCK;
            *acc += NAME(block_at)(x[t], dtype, begin, len, scale);
        }
}

static void NAME(sumsq_any)(int64_t n, const void *const *x, int dtype, const int64_t *sizes,
                            double scale, double *acc)
{
    NAME(norm_ctx) c;
    int64_t t, total = 0, nblocks = 0, block;
    int64_t *first_block;
    double *partial;
    for (t = 0; t < n; t++) {
        total += sizes[t];
        nblocks += (sizes[t] + PYWD_NORM_BLOCK - 1) / PYWD_NORM_BLOCK;
    }
    if (pywd_team_size(total) <= 1) {
        NAME(sumsq_serial)(n, x, dtype, sizes, scale, acc);
        return;
    }
    first_block = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    partial = (double *)malloc((size_t)nblocks * sizeof(double));
    if (!first_block || !partial) { /* out of memory: the serial walk needs none */
        free(first_block);
        free(partial);
        NAME(sumsq_serial)(n, x, dtype, sizes, scale, acc);
        return;
    }
    first_block[0] = 0;
    for (t = 0; t < n; t++)
        first_block[t + 1] = first_block[t] + (sizes[t] + PYWD_NORM_BLOCK - 1) / PYWD_NORM_BLOCK;
    c.x = x;
    c.dtype = dtype;
    c.sizes = sizes;
    c.first_block = first_block;
    c.scale = scale;
    c.partial = partial;
    pywd_run_blocks(nblocks, total, NAME(norm_blocks), &c);
    for (block = 0; block < nblocks; block++) *acc += partial[block];
    free(first_block);
    free(partial);
}

void NAME(pywd_sumsq)(int64_t n, const real *const *x, const int64_t *sizes, double scale,
                      double *acc);
void NAME(pywd_sumsq)(int64_t n, const real *const *x, const int64_t *sizes, double scale,
                      double *acc)
{
    NAME(sumsq_any)(n, (const void *const *)x, PYWD_DTYPE_F32, sizes, scale, acc);
}

#if !REAL_IS_DOUBLE
void PYWD_CONCAT(pywd_sumsq_16, ISA_SUFFIX)(int dtype, int64_t n, const uint16_t *const *x,
                                            const int64_t *sizes, double scale, double *acc);
void PYWD_CONCAT(pywd_sumsq_16, ISA_SUFFIX)(int dtype, int64_t n, const uint16_t *const *x,
                                            const int64_t *sizes, double scale, double *acc)
{
    NAME(sumsq_any)(n, (const void *const *)x, dtype, sizes, scale, acc);
}
#endif
