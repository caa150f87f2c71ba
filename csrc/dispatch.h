/* Defines the public entry point PUBLIC(args) that forwards to the AVX2 or the baseline
 * stamp of a kernel. Usage in a kernel's baseline unit:
 *   PYWD_DISPATCH(pywd_sgd_f32, (const pywd_sgd_hyper *h, ...), (h, ...))            */
#if PYWD_X86_DISPATCH
#define PYWD_DISPATCH(public, params, args)                                   \
    void PYWD_CONCAT(public, baseline) params;                                \
    void PYWD_CONCAT(public, avx2) params;                                    \
    void public params                                                        \
    {                                                                         \
        if (pywd_use_avx2()) PYWD_CONCAT(public, avx2) args;                  \
        else PYWD_CONCAT(public, baseline) args;                              \
    }
#else
#define PYWD_DISPATCH(public, params, args)                                   \
    void PYWD_CONCAT(public, baseline) params;                                \
    void public params { PYWD_CONCAT(public, baseline) args; }
#endif
