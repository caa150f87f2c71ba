/* Adafactor's workspace layout (adafactor_plan.h), which every stamp of its body shares. */
#include "adafactor_plan.h"
#include "pywd.h"

/* Takes `count` items of `size` bytes from *at (when laying out), returning where they are;
 * adds their bytes to *total either way. */
static void *take(char **at, int64_t *total, int64_t count, int64_t size)
{
    void *here = *at;
    *total += count * size;
    if (*at) *at += count * size;
    return here;
}

int64_t pywd_af_layout_of(int64_t n, const int64_t *sizes, const int64_t *matrix,
                          void *workspace, pywd_af_layout *out)
{
    char *at = (char *)workspace;
    int64_t total = 0, t, nblocks = 0, columns = 0, matrices = 0;
    pywd_af_layout x;
    for (t = 0; t < n; t++) {
        int64_t rows = matrix[3 * t], cols = matrix[3 * t + 1], elems = rows * cols;
        int64_t count = elems ? sizes[t] / elems : 0, splits = 1, per_block;
        if (!elems) continue;
        if (elems >= PYWD_AF_BLOCK) {
            splits = (elems + PYWD_AF_BLOCK - 1) / PYWD_AF_BLOCK;
            if (splits > PYWD_AF_SPLITS) splits = PYWD_AF_SPLITS;
            if (splits > rows) splits = rows;
            per_block = (rows + splits - 1) / splits;   /* rows per block */
            splits = (rows + per_block - 1) / per_block;
            nblocks += count * splits;
            columns += count * splits * cols;            /* per matrix and block */
        } else {
            per_block = PYWD_AF_BLOCK / elems;           /* matrices per block */
            nblocks += (count + per_block - 1) / per_block;
            columns += (count + per_block - 1) / per_block * cols;  /* per block, reused */
        }
        matrices += count;
    }
    x.nblocks = nblocks;
    x.blocks = (pywd_af_block *)take(&at, &total, nblocks, sizeof(pywd_af_block));
    x.block_sq = (double *)take(&at, &total, nblocks, sizeof(double));
    x.columns = (double *)take(&at, &total, columns, sizeof(double));
    x.divisors = (double *)take(&at, &total, matrices, sizeof(double));
    x.sums = (double *)take(&at, &total, 2 * n, sizeof(double));
    x.pass2 = (double *)take(&at, &total, 2 * n, sizeof(double));
    x.step = (double *)take(&at, &total, n, sizeof(double));
    x.splits = (int64_t *)take(&at, &total, n, sizeof(int64_t));
    x.col_base = (int64_t *)take(&at, &total, n, sizeof(int64_t));
    x.div_base = (int64_t *)take(&at, &total, n, sizeof(int64_t));
    if (!workspace) return total;
    nblocks = columns = matrices = 0;
    for (t = 0; t < n; t++) {
        int64_t rows = matrix[3 * t], cols = matrix[3 * t + 1];
        int64_t elems = rows * cols, count = elems ? sizes[t] / elems : 0, m, r, splits = 1;
        x.sums[2 * t] = x.sums[2 * t + 1] = x.step[t] = 0.0;
        x.pass2[2 * t] = x.pass2[2 * t + 1] = 0.0;
        x.col_base[t] = columns;
        x.div_base[t] = matrices;
        if (elems >= PYWD_AF_BLOCK) {
            int64_t per_block;
            splits = (elems + PYWD_AF_BLOCK - 1) / PYWD_AF_BLOCK;
            if (splits > PYWD_AF_SPLITS) splits = PYWD_AF_SPLITS;
            if (splits > rows) splits = rows;
            per_block = (rows + splits - 1) / splits;
            splits = (rows + per_block - 1) / per_block;
            for (m = 0; m < count; m++)
                for (r = 0; r < rows; r += per_block) {
                    pywd_af_block *b = &x.blocks[nblocks++];
                    b->t = t;
                    b->m0 = m;
                    b->m1 = m + 1;
                    b->r0 = r;
                    b->r1 = r + per_block < rows ? r + per_block : rows;
                    b->part = columns + (m * splits + r / per_block) * cols;
                }
            columns += count * splits * cols;
        } else if (elems) {
            int64_t per_block = PYWD_AF_BLOCK / elems;
            for (m = 0; m < count; m += per_block) {
                pywd_af_block *b = &x.blocks[nblocks++];
                b->t = t;
                b->m0 = m;
                b->m1 = m + per_block < count ? m + per_block : count;
                b->r0 = 0;
                b->r1 = rows;
                b->part = columns;
                columns += cols;
            }
        }
        x.splits[t] = splits;
        matrices += count;
    }
    *out = x;
    return total;
}

int64_t pywd_adafactor_workspace(int64_t n, const int64_t *sizes, const int64_t *matrix)
{
    return pywd_af_layout_of(n, sizes, matrix, 0, 0);
}
