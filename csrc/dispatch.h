/* Defines the public entry point PUBLIC(args) that forwards to the AVX-512, AVX2 or baseline
 * stamp of a kernel (the unit cpu.c chose). Usage:
 *   PYWD_DISPATCH(pywd_sgd_f32, (const pywd_sgd_hyper *h, ...), (h, ...))            */
#if PYWD_X86_DISPATCH
#define PYWD_DISPATCH(public, params, args)                                   \
    void PYWD_CONCAT(public, baseline) params;                                \
    PYWD_AVX2_STAMP(void PYWD_CONCAT(public, avx2) params;)                   \
    PYWD_AVX512_STAMP(void PYWD_CONCAT(public, avx512) params;)               \
    void public params                                                        \
    {                                                                         \
        switch (pywd_isa_level()) {                                           \
            PYWD_AVX512_STAMP(case PYWD_ISA_AVX512                            \
                              : PYWD_CONCAT(public, avx512) args; break;)     \
            PYWD_AVX2_STAMP(case PYWD_ISA_AVX2                                \
                            : PYWD_CONCAT(public, avx2) args; break;)         \
        default: PYWD_CONCAT(public, baseline) args;                          \
        }                                                                     \
    }
/* (what names a unit's stamps, where the unit is built: cpu.c never chooses another) */
#if PYWD_AVX2_UNIT
#define PYWD_AVX2_STAMP(...) __VA_ARGS__
#else
#define PYWD_AVX2_STAMP(...)
#endif
#if PYWD_AVX512_UNIT
#define PYWD_AVX512_STAMP(...) __VA_ARGS__
#else
#define PYWD_AVX512_STAMP(...)
#endif
#else
#define PYWD_DISPATCH(public, params, args)                                   \
    void PYWD_CONCAT(public, baseline) params;                                \
    void public params { PYWD_CONCAT(public, baseline) args; }
#endif
