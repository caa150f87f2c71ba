/* The update pass of the optimisers with a factor per tensor (LAMB's and LARS's trust
 * ratios, phi[t]), stamped per dtype and ISA unit (kernels.h): the spans over the tensors
 * and, over 16-bit storage, the tiles; each calls the optimiser's run(x, a, n, phi) with
 * a[k] the pointers of slot k at the span's or tile's start (0 params, 1 grads, 2..4 state,
 * the last the decay's anchors; NULL for a slot the call has not), as the element-wise
 * driver (driver.h) hands its loops their slots. A storage kind is added here and in
 * lowp.h's tiles, not in the optimisers. */
typedef void (*NAME(scaled_run_fn))(const void *x, real *const *a, int64_t n, real phi);

typedef struct {
    const void *x; /* the optimiser's context, for run */
    NAME(scaled_run_fn) run;
    const pywd_lowp *lowp;
    unsigned writes; /* the slots the pass writes, a bit per slot */
    real *const *slot[PYWD_LOWP_ARGS];
    const double *phi; /* per tensor */
} NAME(scaled_pass);

static void NAME(scaled_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(scaled_pass) *p = (const NAME(scaled_pass) *)vctx;
    real *a[PYWD_LOWP_ARGS];
    int s;
    for (s = 0; s < PYWD_LOWP_ARGS; s++) a[s] = p->slot[s] ? p->slot[s][t] + begin : 0;
    p->run(p->x, a, end - begin, (real)p->phi[t]);
}

#if !REAL_IS_DOUBLE
typedef struct {
    const NAME(scaled_pass) *p;
    real phi;
} NAME(scaled_tile_ctx);

static void NAME(scaled_tile)(const void *vctx, float *const *a, int64_t n)
{
    const NAME(scaled_tile_ctx) *tc = (const NAME(scaled_tile_ctx) *)vctx;
    tc->p->run(tc->p->x, a, n, tc->phi);
}

static void NAME(scaled_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)
{
    const NAME(scaled_pass) *p = (const NAME(scaled_pass) *)vctx;
    NAME(scaled_tile_ctx) tc;
    tc.p = p;
    tc.phi = (real)p->phi[t];
    pywd_lowp_span(p->lowp, PYWD_LOWP_ARGS, (void *const *const *)p->slot, p->writes, t, begin,
                   end, NAME(scaled_tile), &tc);
}
#endif

static void NAME(run_scaled_pass)(const NAME(scaled_pass) *p, int64_t n, const int64_t *sizes)
{
#if !REAL_IS_DOUBLE
    if (p->lowp) {
        pywd_run_spans(n, sizes, NAME(scaled_span_lowp), p);
        return;
    }
#endif
    pywd_run_spans(n, sizes, NAME(scaled_span), p);
}
