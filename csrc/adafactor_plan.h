/* Adafactor's workspace: how a factored call's first pass is cut into blocks, and where its
 * partial sums go (adafactor_plan.c; used by every stamp of optim/adafactor.h). The blocks depend
 * only on the tensors' shapes, never on the thread count, so every sum is added in one
 * fixed order:
 *   a matrix of at least PYWD_AF_BLOCK elements is cut into at most PYWD_AF_SPLITS blocks of
 *   whole rows, each with its own column partials (added in block order afterwards);
 *   smaller matrices are grouped, whole, into blocks of about PYWD_AF_BLOCK elements. */
#ifndef PYWD_ADAFACTOR_PLAN_H
#define PYWD_ADAFACTOR_PLAN_H

#include <stdint.h>

#define PYWD_AF_BLOCK 32768
#define PYWD_AF_SPLITS 32
/* rows narrower than this are walked element by element (their row and column counted),
 * wider ones row segment by row segment */
#define PYWD_AF_WIDE 64
/* column sums a block of whole narrow matrices keeps on its stack at a time */
#define PYWD_AF_CHUNK 2048

typedef struct {
    int64_t t, m0, m1, r0, r1; /* tensor t's matrices [m0, m1), their rows [r0, r1) */
    int64_t part;              /* its first matrix's column partials, in `columns` */
} pywd_af_block;

typedef struct {
    int64_t nblocks;
    pywd_af_block *blocks;   /* a tensor's blocks are consecutive, in order */
    double *block_sq;        /* per block: its sum of w^2 */
    double *columns;         /* per (matrix, row block): N column sums */
    double *divisors;        /* per matrix: max(mean of torch's row_var, eps1) */
    double *sums;            /* per tensor: sum of w^2, sum of u^2 */
    double *pass2;           /* per tensor: pass 2's sums (w^2 for the unfactored, u^2) */
    double *step;            /* per tensor: alpha / max(1, rms(u) / d) */
    int64_t *splits;         /* per tensor: row blocks per matrix */
    int64_t *col_base, *div_base; /* per tensor: where its columns and divisors start */
} pywd_af_layout;

/* Lays the workspace out (workspace NULL: only counts) for a call (matrix: pywd.h's 3 per
 * tensor); returns its bytes. */
int64_t pywd_af_layout_of(int64_t n, const int64_t *sizes, const int64_t *matrix,
                          void *workspace, pywd_af_layout *out);

#endif
