/* Which instruction set the kernels use, decided once per process. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "pywd.h"

#if PYWD_X86_DISPATCH
#include <cpuid.h>

/* float16 conversions (every AVX2 CPU has them; checked all the same) */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

static int detect_avx2(void)
{
#if PYWD_X86_DISPATCH
    const char *forced = getenv("PYWD_ISA");
    if (forced && strcmp(forced, "baseline") == 0) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
#else
    return 0;
#endif
}

int pywd_use_avx2(void)
{
    /* a benign race: every thread computes the same answer */
    static int cached = -1;
    if (cached < 0) cached = detect_avx2();
    return cached;
}

const char *pywd_isa(void) { return pywd_use_avx2() ? "avx2" : "baseline"; }
