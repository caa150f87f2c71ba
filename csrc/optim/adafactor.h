/* Adafactor body (Shazeer & Stern 2018; torch.optim.Adafactor's order), stamped per dtype and
 * ISA unit (kernels.h). Per tensor, at step t (beta_weight = t**beta2_decay,
 * rho = min(lr, 1/sqrt(t))):
 *   g = g*grad_mult (negated if maximize);  g = g + wd*w (decay "l2")
 *   alpha = max(eps2, ||w|| / sqrt(numel)) * rho                    (w before any decay)
 *   factored (2 or more dims; per matrix of the last two axes):
 *     row_var = lerp(row_var, mean(g^2 over the row), beta_weight)
 *     col_var = lerp(col_var, mean(g^2 over the column), beta_weight)
 *     v = row_var[r]*col_var[c] / max(mean(row_var), eps1)
 *   unfactored:  variance = lerp(variance, g^2, beta_weight);  v = variance
 *   u = rsqrt(max(v, eps1^2)) * g;  step = alpha / max(1, rms(u) / d)
 *   w = w*(1 - lr*wd) (decay "decoupled", torch's; the other multiplicative modes likewise,
 *       lr unadjusted);  w = w - step*u;  w = sign(w)*max(|w| - lr*wd, 0) (decay "l1")
 * One call for the list: pass 1 over the factored tensors (the sums of w^2 and the row and
 * column sums of g^2, in blocks of whole rows fixed by the shapes (adafactor_plan.h), then
 * the factors); pass 2 over all (the sums of u^2, and of w^2 for the others, in
 * pywd_tensor_sums' blocks); pass 3, the update: 24 bytes per float32 element of a factored
 * tensor, 32 of another. Every sum is in double; no result depends on the
 * thread count. lerp as torch's (lerp.h). */

typedef struct {
    real grad_mult, wd, beta, eps1, eps1_sq, factor, threshold;
    int near_end, decay; /* decay: the mode the update pass acts on (weight_decay.h) */
    pywd_af_layout at;
    const int64_t *matrix, *sizes;
    real *const *params;
    const real *const *anchors; /* decay_to, or NULL */
    const real *const *grads;
    real *const *row_vars, *const *col_vars, *const *variances;
} NAME(af_ctx);

/* Tensor t is factored (a tensor without elements, either way, has nothing to do). */
#define PYWD_AF_FACTORED(x, t) ((x)->matrix[3 * (t)] != 0)

/* The decay a pass that only reads w sees: "l2" (plain or anchored) or none. */
static int NAME(af_grad_decay)(int decay)
{
    return (decay & ~PYWD_DECAY_ANCHORED) == PYWD_DECAY_L2 ? decay : PYWD_DECAY_NONE;
}

/* g of n elements (the gradient after grad_mult and "l2" decay) into out. */
PYWD_INLINE void NAME(af_grads)(const NAME(af_ctx) *x, const real *PYWD_RESTRICT w,
                                const real *PYWD_RESTRICT w0, const real *PYWD_RESTRICT g,
                                int64_t n, real *PYWD_RESTRICT out, const int decay)
{
    const real grad_mult = x->grad_mult, wd = x->wd;
    int64_t i;
    for (i = 0; i < n; i++) {
        real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0;
        out[i] = NAME(decay_grad)(g[i] * grad_mult, w[i], ai, wd, decay);
    }
}

static void NAME(af_grads_run)(const NAME(af_ctx) *x, const real *w, const real *w0,
                               const real *g, int64_t n, real *out)
{
    switch (NAME(af_grad_decay)(x->decay)) {
    case PYWD_DECAY_L2: NAME(af_grads)(x, w, w0, g, n, out, PYWD_DECAY_L2); break;
    case PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED:
        NAME(af_grads)(x, w, w0, g, n, out, PYWD_DECAY_L2 + PYWD_DECAY_ANCHORED);
        break;
    default: NAME(af_grads)(x, w, w0, g, n, out, PYWD_DECAY_NONE); break;
    }
}

/* u = rsqrt(max(v, eps1^2)) * g for n elements, v = inner * outer[i] / divisor. */
PYWD_INLINE void NAME(af_factored_u)(const real *PYWD_RESTRICT g,
                                     const real *PYWD_RESTRICT outer, real inner,
                                     real divisor, real eps1_sq, int64_t n,
                                     real *PYWD_RESTRICT u)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        real v = inner * outer[i] / divisor;
        v = v < eps1_sq ? eps1_sq : v; /* a NaN stays NaN, as torch's clamp */
        u[i] = (real)1 / REAL_SQRT(v) * g[i];
    }
}

/* ---------------------------------------------------------------- factored: pass 1 */
/* Matrix m of tensor t once all its rows are summed: its column sums (`splits` partials of
 * `cols` each, added in block order) lerped into the column factor, then its divisor. */
PYWD_INLINE void NAME(af_finish_matrix)(const NAME(af_ctx) *x, int64_t t, int64_t m,
                                   const double *partials, int64_t splits)
{
    const int64_t rows = x->matrix[3 * t], cols = x->matrix[3 * t + 1];
    const int transposed = (int)x->matrix[3 * t + 2];
    real *outer = (transposed ? x->row_vars[t] : x->col_vars[t]) + m * cols;
    const int64_t per_matrix = transposed ? cols : rows;
    const real *torch_rows = x->row_vars[t] + m * per_matrix;     /* torch's row_var */
    double sum = 0.0;
    real mean;
    int64_t c, j, r;
    for (c = 0; c < cols; c++) {
        double column = partials[c];
        for (j = 1; j < splits; j++) column += partials[j * cols + c];
        outer[c] = NAME(lerp)(outer[c], (real)(column / (double)rows), x->beta, x->near_end);
    }
    for (r = 0; r < per_matrix; r++) sum += (double)torch_rows[r];
    mean = (real)(sum / (double)per_matrix);
    x->at.divisors[x->at.div_base[t] + m] = (double)(mean < x->eps1 ? x->eps1 : mean);
}

/* Rows [row0, row1) of tensor t (counted over its matrices; consecutive in memory), rows
 * narrower than PYWD_AF_WIDE, walked as one flat range: each row's sum of g^2 (in order,
 * lerped into the row factor as the row ends), each element's g^2 into its column's partial
 * columns[(its matrix - row0's) * cols + col], each w^2 into the lanes wl. */
static void NAME(af_narrow_rows)(const NAME(af_ctx) *x, int64_t t, int64_t row0, int64_t row1,
                                 double *columns, double *wl)
{
    const int64_t rows = x->matrix[3 * t], cols = x->matrix[3 * t + 1], end = row1 * cols;
    real *inner = x->matrix[3 * t + 2] ? x->col_vars[t] : x->row_vars[t];
    double row_sum = 0.0;
    real tile[PYWD_TILE];
    int64_t s, k, i, row = row0, in_matrix = row0 % rows, col = 0;
    for (s = row0 * cols; s < end; s += k) {
        k = end - s < PYWD_TILE ? end - s : PYWD_TILE;
        NAME(af_grads_run)(x, x->params[t] + s, x->anchors ? x->anchors[t] + s : 0,
                           x->grads[t] + s, k, tile);
        NAME(sumsq_lanes)(x->params[t] + s, k, 1, wl);
        for (i = 0; i < k; i++) {
            double v = (double)tile[i];
            row_sum += v * v;
            columns[col] += v * v;
            if (++col < cols) continue;
            inner[row] = NAME(lerp)(inner[row], (real)(row_sum / (double)cols), x->beta,
                                    x->near_end);
            row_sum = 0.0;
            col = 0;
            row++;
            if (++in_matrix == rows) { /* the next matrix: its own column partials */
                in_matrix = 0;
                columns += cols;
            }
        }
    }
}

/* Matrices [m0, m1) of 1x1 (a 1x1 conv kernel's): the factors are per element, each row
 * and column mean that element's g^2 (the general walk's arithmetic, element-wise). */
static void NAME(af_unit_matrices)(const NAME(af_ctx) *x, int64_t t, int64_t m0, int64_t m1,
                                   double *wl)
{
    real *row_var = x->row_vars[t], *col_var = x->col_vars[t];
    double *divisors = x->at.divisors + x->at.div_base[t];
    real tile[PYWD_TILE];
    int64_t s, k, i;
    for (s = m0; s < m1; s += k) {
        k = m1 - s < PYWD_TILE ? m1 - s : PYWD_TILE;
        NAME(af_grads_run)(x, x->params[t] + s, x->anchors ? x->anchors[t] + s : 0,
                           x->grads[t] + s, k, tile);
        NAME(sumsq_lanes)(x->params[t] + s, k, 1, wl);
        for (i = 0; i < k; i++) {
            const double g = (double)tile[i];
            const real mean = (real)(g * g), r = NAME(lerp)(row_var[s + i], mean, x->beta,
                                                             x->near_end);
            row_var[s + i] = r;
            col_var[s + i] = NAME(lerp)(col_var[s + i], mean, x->beta, x->near_end);
            divisors[s + i] = (double)(r < x->eps1 ? x->eps1 : r);
        }
    }
}

/* A block of a tensor whose rows are narrower than PYWD_AF_WIDE. Whole matrices go
 * PYWD_AF_CHUNK column sums at a time: their rows, then each matrix finished (independent
 * of one another, so the divisions overlap). */
static void NAME(af_narrow_block)(const NAME(af_ctx) *x, const pywd_af_block *b,
                                  double *w_sq)
{
    const int64_t t = b->t, rows = x->matrix[3 * t], cols = x->matrix[3 * t + 1];
    const int64_t per_chunk = PYWD_AF_CHUNK / cols;
    double wl[PYWD_SUM_LANES] = {0}, chunk[PYWD_AF_CHUNK];
    int64_t m, j, i;
    if (x->at.splits[t] > 1) { /* rows of one matrix: its partials are finished later */
        double *columns = x->at.columns + b->part;
        for (i = 0; i < cols; i++) columns[i] = 0.0;
        NAME(af_narrow_rows)(x, t, b->m0 * rows + b->r0, b->m0 * rows + b->r1, columns, wl);
    } else if (rows == 1 && cols == 1) {
        NAME(af_unit_matrices)(x, t, b->m0, b->m1, wl);
    } else {
        for (m = b->m0; m < b->m1; m += per_chunk) {
            const int64_t count = b->m1 - m < per_chunk ? b->m1 - m : per_chunk;
            for (i = 0; i < count * cols; i++) chunk[i] = 0.0;
            NAME(af_narrow_rows)(x, t, m * rows, (m + count) * rows, chunk, wl);
            for (j = 0; j < count; j++) NAME(af_finish_matrix)(x, t, m + j, chunk + j * cols, 1);
        }
    }
    *w_sq = pywd_sum_lanes(wl);
}

/* One block of wider rows: their sums of g^2 (finished here: the row factor is lerped),
 * their column sums into the block's partials (a block of whole matrices finishes each),
 * and the sum of w^2 into *w_sq. */
static void NAME(af_rows_block)(const NAME(af_ctx) *x, const pywd_af_block *b, double *w_sq)
{
    const int64_t t = b->t, rows = x->matrix[3 * t], cols = x->matrix[3 * t + 1];
    const int transposed = (int)x->matrix[3 * t + 2], whole = x->at.splits[t] == 1;
    real *inner = transposed ? x->col_vars[t] : x->row_vars[t];
    double *columns = x->at.columns + b->part, wl[PYWD_SUM_LANES] = {0};
    real tile[PYWD_TILE];
    int64_t m, r, s, i, k;
    for (m = b->m0; m < b->m1; m++) {
        for (i = 0; i < cols; i++) columns[i] = 0.0;
        for (r = b->r0; r < b->r1; r++) {
            const int64_t row = (m * rows + r) * cols;
            const real *w = x->params[t] + row, *g = x->grads[t] + row;
            const real *w0 = x->anchors ? x->anchors[t] + row : 0;
            double gl[PYWD_SUM_LANES] = {0};
            for (s = 0; s < cols; s += k) {
                k = cols - s < PYWD_TILE ? cols - s : PYWD_TILE;
                NAME(af_grads_run)(x, w + s, w0 ? w0 + s : 0, g + s, k, tile);
                NAME(sumsq_lanes)(tile, k, 1, gl);
                NAME(sumsq_lanes)(w + s, k, 1, wl);
                for (i = 0; i < k; i++) {
                    double v = (double)tile[i];
                    columns[s + i] += v * v;
                }
            }
            inner[m * rows + r] = NAME(lerp)(inner[m * rows + r],
                                             (real)(pywd_sum_lanes(gl) / (double)cols),
                                             x->beta, x->near_end);
        }
        if (whole) NAME(af_finish_matrix)(x, t, m, columns, 1);
    }
    *w_sq = pywd_sum_lanes(wl);
}

static void NAME(af_rows_blocks)(const void *vctx, int64_t lo, int64_t hi)
{
    const NAME(af_ctx) *x = (const NAME(af_ctx) *)vctx;
    int64_t j;
    for (j = lo; j < hi; j++) {
        const pywd_af_block *b = &x->at.blocks[j];
        if (x->matrix[3 * b->t + 1] < PYWD_AF_WIDE)
            NAME(af_narrow_block)(x, b, &x->at.block_sq[j]);
        else
            NAME(af_rows_block)(x, b, &x->at.block_sq[j]);
    }
}

/* After pass 1, one thread: the matrices cut into several blocks (their column partials
 * added in block order), each tensor's sum of w^2. */
static void NAME(af_finish_factors)(NAME(af_ctx) *x, int64_t n)
{
    int64_t t, m, block = 0;
    for (t = 0; t < n; t++) {
        const int64_t cols = x->matrix[3 * t + 1], splits = x->at.splits[t];
        double w_sq = 0.0;
        if (splits > 1) /* (then the matrices have elements) */
            for (m = 0; m < x->sizes[t] / (x->matrix[3 * t] * cols); m++)
                NAME(af_finish_matrix)(x, t, m, x->at.columns + x->at.col_base[t] +
                                                    m * splits * cols, splits);
        for (; block < x->at.nblocks && x->at.blocks[block].t == t; block++)
            w_sq += x->at.block_sq[block];
        x->at.sums[2 * t] = w_sq;
    }
}

/* g (after grad_mult and "l2" decay) and u of elements [s, s + k) of factored tensor t
 * (k <= PYWD_TILE), in gt and u. Rows of at least PYWD_AF_WIDE columns go segment by
 * segment (vectorised); narrower ones element by element, their row, column and matrix
 * counted along (a 1x1 or 3x3 conv kernel is a batch of tiny matrices). */
static void NAME(af_u_tile)(const NAME(af_ctx) *x, int64_t t, int64_t s, int64_t k, real *gt,
                            real *u)
{
    const int64_t rows = x->matrix[3 * t], cols = x->matrix[3 * t + 1], elems = rows * cols;
    const int transposed = (int)x->matrix[3 * t + 2];
    const real *inner = transposed ? x->col_vars[t] : x->row_vars[t];
    const real *outer = transposed ? x->row_vars[t] : x->col_vars[t];
    const double *divisors = x->at.divisors + x->at.div_base[t];
    int64_t mat = s / elems, row = (s - mat * elems) / cols, col = s - mat * elems - row * cols;
    int64_t i = 0;
    NAME(af_grads_run)(x, x->params[t] + s, x->anchors ? x->anchors[t] + s : 0,
                       x->grads[t] + s, k, gt);
    if (cols >= PYWD_AF_WIDE) {
        while (i < k) {
            const int64_t seg = cols - col < k - i ? cols - col : k - i;
            NAME(af_factored_u)(gt + i, outer + mat * cols + col, inner[mat * rows + row],
                                (real)divisors[mat], x->eps1_sq, seg, u + i);
            i += seg;
            col = 0;
            if (++row == rows) row = 0, mat++;
        }
        return;
    }
    if (elems == 1) { /* 1x1 matrices: per element */
        for (; i < k; i++) {
            real v = inner[s + i] * outer[s + i] / (real)divisors[s + i];
            u[i] = v < x->eps1_sq ? x->eps1_sq : v;
        }
        i = k;
    }
    for (; i < k; i++) {
        real v = inner[mat * rows + row] * outer[mat * cols + col] / (real)divisors[mat];
        u[i] = v < x->eps1_sq ? x->eps1_sq : v;
        if (++col == cols) {
            col = 0;
            if (++row == rows) row = 0, mat++;
        }
    }
    for (i = 0; i < k; i++) u[i] = (real)1 / REAL_SQRT(u[i]) * gt[i];
}

/* ---------------------------------------------------------------- the update */
PYWD_INLINE void NAME(af_apply)(real *PYWD_RESTRICT w, const real *PYWD_RESTRICT w0,
                                const real *PYWD_RESTRICT u, int64_t n, real step,
                                real factor, real threshold, const int decay)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        real ai = (decay & PYWD_DECAY_ANCHORED) ? w0[i] : 0, update = step * u[i];
        real wi = NAME(decay_before)(w[i], ai, update, factor, decay) - update;
        w[i] = NAME(decay_after)(wi, ai, threshold, decay);
    }
}

static void NAME(af_apply_run)(const NAME(af_ctx) *x, real *w, const real *w0, const real *u,
                               int64_t n, real step)
{
#define PYWD_AF_CASE(d) \
    case d: NAME(af_apply)(w, w0, u, n, step, x->factor, x->threshold, d); break;
    switch (x->decay) {
        PYWD_DECAY_MODES(PYWD_AF_CASE)
    default: break;
    }
#undef PYWD_AF_CASE
}

static void NAME(af_factored_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(af_ctx) *x = (const NAME(af_ctx) *)vctx;
    const real step = (real)x->at.step[t];
    real gt[PYWD_TILE], u[PYWD_TILE];
    int64_t s, k;
    for (s = begin; s < end; s += k) {
        k = end - s < PYWD_TILE ? end - s : PYWD_TILE;
        NAME(af_u_tile)(x, t, s, k, gt, u);
        NAME(af_apply_run)(x, x->params[t] + s, x->anchors ? x->anchors[t] + s : 0, u, k,
                           step);
    }
}

/* ---------------------------------------------------------------- unfactored */
/* v = lerp(variance, g^2, beta) and u of n elements (variance left as it is). */
PYWD_INLINE void NAME(af_vector_u)(const real *PYWD_RESTRICT g,
                                   const real *PYWD_RESTRICT variance, real beta,
                                   real eps1_sq, int64_t n, real *PYWD_RESTRICT v,
                                   real *PYWD_RESTRICT u, const int near_end)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        real vi = NAME(lerp)(variance[i], g[i] * g[i], beta, near_end), c;
        v[i] = vi;
        c = vi < eps1_sq ? eps1_sq : vi;
        u[i] = (real)1 / REAL_SQRT(c) * g[i];
    }
}

static void NAME(af_vector_tile)(const NAME(af_ctx) *x, int64_t t, int64_t at, int64_t k,
                                 real *v, real *u)
{
    real gt[PYWD_TILE];
    const real *w = x->params[t] + at, *w0 = x->anchors ? x->anchors[t] + at : 0;
    NAME(af_grads_run)(x, w, w0, x->grads[t] + at, k, gt);
    if (x->near_end)
        NAME(af_vector_u)(gt, x->variances[t] + at, x->beta, x->eps1_sq, k, v, u, 1);
    else
        NAME(af_vector_u)(gt, x->variances[t] + at, x->beta, x->eps1_sq, k, v, u, 0);
}

static void NAME(af_vector_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(af_ctx) *x = (const NAME(af_ctx) *)vctx;
    const real step = (real)x->at.step[t];
    real v[PYWD_TILE], u[PYWD_TILE];
    int64_t s, k, i;
    for (s = begin; s < end; s += k) {
        k = end - s < PYWD_TILE ? end - s : PYWD_TILE;
        NAME(af_vector_tile)(x, t, s, k, v, u);
        for (i = 0; i < k; i++) x->variances[t][s + i] = v[i];
        NAME(af_apply_run)(x, x->params[t] + s, x->anchors ? x->anchors[t] + s : 0, u, k,
                           step);
    }
}

/* ---------------------------------------------------------------- entry points */
static void NAME(af_setup)(NAME(af_ctx) *x, const pywd_adafactor_hyper *h, int64_t n,
                           real *const *params, const real *const *grads,
                           const int64_t *sizes)
{
    pywd_decay_consts d = pywd_decay_setup(&h->decay, h->lr);
    double beta = pywd_lerp_form(h->beta_weight, &x->near_end);
    x->grad_mult = (real)(h->maximize ? -h->grad_mult : h->grad_mult);
    x->wd = (real)d.wd;
    x->beta = (real)beta;
    x->eps1 = (real)h->eps1;
    x->eps1_sq = (real)h->eps1 * (real)h->eps1;
    x->factor = (real)d.factor;
    x->threshold = (real)d.threshold;
    x->decay = d.mode;
    x->matrix = h->matrix;
    x->sizes = sizes;
    x->params = params;
    x->anchors = (const real *const *)h->decay.anchors;
    x->grads = grads;
    x->row_vars = x->col_vars = x->variances = 0;
    pywd_af_layout_of(n, sizes, h->matrix, h->workspace, &x->at);
}

/* Each tensor's step from its sums of w^2 and u^2 (a tensor without elements: none). */
static void NAME(af_steps)(NAME(af_ctx) *x, const pywd_adafactor_hyper *h, int64_t n)
{
    int64_t t;
    for (t = 0; t < n; t++) {
        double root = sqrt((double)x->sizes[t]);
        double alpha = fmax(h->eps2, sqrt(x->at.sums[2 * t]) / root) * h->rho;
        double denom = fmax(1.0, sqrt(x->at.sums[2 * t + 1]) / (root * h->d));
        x->at.step[t] = x->sizes[t] ? alpha / denom : 0.0;
    }
}

/* Pass 2, the sums over pywd_tensor_sums' blocks: u^2 of a factored tensor (its w^2 is
 * pass 1's), w^2 and u^2 of another. */
static void NAME(af_pass2_block)(const void *vctx, int64_t t, int64_t begin, int64_t len,
                                 double *sums)
{
    const NAME(af_ctx) *x = (const NAME(af_ctx) *)vctx;
    double wl[PYWD_SUM_LANES] = {0}, ul[PYWD_SUM_LANES] = {0};
    real scratch[PYWD_TILE], u[PYWD_TILE];
    int64_t s, k;
    for (s = begin; s < begin + len; s += k) {
        k = begin + len - s < PYWD_TILE ? begin + len - s : PYWD_TILE;
        if (PYWD_AF_FACTORED(x, t)) {
            NAME(af_u_tile)(x, t, s, k, scratch, u);
        } else {
            NAME(af_vector_tile)(x, t, s, k, scratch, u);
            NAME(sumsq_lanes)(x->params[t] + s, k, 1, wl);
        }
        NAME(sumsq_lanes)(u, k, 1, ul);
    }
    sums[0] += pywd_sum_lanes(wl);
    sums[1] += pywd_sum_lanes(ul);
}

static void NAME(af_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(af_ctx) *x = (const NAME(af_ctx) *)vctx;
    if (PYWD_AF_FACTORED(x, t))
        NAME(af_factored_span)(vctx, t, begin, end);
    else
        NAME(af_vector_span)(vctx, t, begin, end);
}

void NAME(pywd_adafactor)(const pywd_adafactor_hyper *h, int64_t n, real *const *params,
                          const real *const *grads, real *const *row_vars,
                          real *const *col_vars, real *const *variances,
                          const int64_t *sizes);
void NAME(pywd_adafactor)(const pywd_adafactor_hyper *h, int64_t n, real *const *params,
                          const real *const *grads, real *const *row_vars,
                          real *const *col_vars, real *const *variances,
                          const int64_t *sizes)
{
    NAME(af_ctx) x;
    int64_t t, total = 0;
    NAME(af_setup)(&x, h, n, params, grads, sizes);
    x.row_vars = row_vars;
    x.col_vars = col_vars;
    x.variances = variances;
    for (t = 0; t < n; t++) total += sizes[t];
    pywd_run_blocks(x.at.nblocks, total, NAME(af_rows_blocks), &x);   /* factored only */
    NAME(af_finish_factors)(&x, n);
    pywd_tensor_sums(n, sizes, 2, NAME(af_pass2_block), &x, x.at.pass2);
    for (t = 0; t < n; t++) {
        if (!PYWD_AF_FACTORED(&x, t)) x.at.sums[2 * t] = x.at.pass2[2 * t];
        x.at.sums[2 * t + 1] = x.at.pass2[2 * t + 1];
    }
    NAME(af_steps)(&x, h, n);
    pywd_run_spans(n, sizes, NAME(af_span), &x);
}

#undef PYWD_AF_FACTORED
