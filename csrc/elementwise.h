/* The drivers of an element-wise kernel body, stamped with it (NAME and `real` are the
 * includer's). The body's context type NAME(<k>_ctx) holds `lowp` and, per argument slot
 * (pywd.h: 0 params, 1 grads, 2.. state, PYWD_LOWP_ARGS - 1 the decay_to anchors), the
 * per-tensor pointers `slot[k]` (NULL for an argument the call has not); its
 * NAME(<k>_run)(x, a, n) updates n elements given each slot's pointer to the first.
 * PYWD_ELEMENTWISE(k, written) then defines NAME(<k>_spans)(x, n, sizes), which runs the
 * call over every element of its n tensors: in place, or (16-bit storage, float32 stamps)
 * through float32 tiles, rounding back the slots whose bit is set in `written`. */
/* Included by each stamp of a body (no include guard): the macros follow its `real`. */
#undef PYWD_ELEMENTWISE_LOWP
#undef PYWD_ELEMENTWISE_LOWP_RUN
#undef PYWD_ELEMENTWISE
#if REAL_IS_DOUBLE
#define PYWD_ELEMENTWISE_LOWP(k, written)
#define PYWD_ELEMENTWISE_LOWP_RUN(k)
#else
#define PYWD_ELEMENTWISE_LOWP(k, written)                                                      \
    static void NAME(k##_tile)(const void *vctx, float *const *a, int64_t n)                  \
    {                                                                                          \
        NAME(k##_run)((const NAME(k##_ctx) *)vctx, a, n);                                      \
    }                                                                                          \
    static void NAME(k##_span_lowp)(const void *vctx, int64_t t, int64_t begin, int64_t end)  \
    {                                                                                          \
        const NAME(k##_ctx) *x = (const NAME(k##_ctx) *)vctx;                                  \
        pywd_lowp_span(x->lowp, PYWD_LOWP_ARGS, (void *const *const *)x->slot, (written), t,   \
                       begin, end, NAME(k##_tile), x);                                         \
    }
#define PYWD_ELEMENTWISE_LOWP_RUN(k)                                                           \
    if (x->lowp) {                                                                             \
        pywd_run_spans(n, sizes, NAME(k##_span_lowp), x);                                      \
        return;                                                                                \
    }
#endif

#define PYWD_ELEMENTWISE(k, written)                                                           \
    static void NAME(k##_span)(const void *vctx, int64_t t, int64_t begin, int64_t end)       \
    {                                                                                          \
        const NAME(k##_ctx) *x = (const NAME(k##_ctx) *)vctx;                                  \
        real *a[PYWD_LOWP_ARGS];                                                               \
        int s;                                                                                 \
        for (s = 0; s < PYWD_LOWP_ARGS; s++) a[s] = x->slot[s] ? x->slot[s][t] + begin : 0;    \
        NAME(k##_run)(x, a, end - begin);                                                      \
    }                                                                                          \
    PYWD_ELEMENTWISE_LOWP(k, written)                                                          \
    static void NAME(k##_spans)(const NAME(k##_ctx) *x, int64_t n, const int64_t *sizes)       \
    {                                                                                          \
        PYWD_ELEMENTWISE_LOWP_RUN(k)                                                           \
        pywd_run_spans(n, sizes, NAME(k##_span), x);                                           \
    }
