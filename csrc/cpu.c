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

/* The OS saves the AVX-512 state on a context switch: XCR0 has the SSE, AVX, opmask and
 * both ZMM bits (a CPU with AVX-512 under an OS or hypervisor that does not enable it must
 * not run it). */
static int os_saves_avx512(void)
{
    unsigned a, b, c, d, lo, hi;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6u) == 0xE6u;
}

/* AVX512-BF16 (CPUID leaf 7, subleaf 1, EAX bit 5): the AVX-512 unit rounds float32 to
 * bfloat16 to nearest with its instruction (lowp.h). PYWD_NO_AVX512_BF16=1 keeps the integer
 * rounding (the same bytes: for tests and comparisons). */
static int has_avx512bf16(void)
{
    unsigned a, b, c, d;
    const char *off = getenv("PYWD_NO_AVX512_BF16");
    if (off && *off && strcmp(off, "0") != 0) return 0;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}

/* AVX512-VBMI (vpermi2b): the AVX-512 unit reads 8-bit state's map as byte planes, 64 codes
 * an instruction (q8.h). PYWD_NO_AVX512_VBMI=1 keeps the float permutes (the same bytes). */
static int has_avx512vbmi(void)
{
    const char *off = getenv("PYWD_NO_AVX512_VBMI");
    if (off && *off && strcmp(off, "0") != 0) return 0;
    return __builtin_cpu_supports("avx512vbmi");
}

/* The widest unit this CPU and OS run. */
static int runs(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c()))
        return PYWD_ISA_BASELINE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        os_saves_avx512())
        return PYWD_ISA_AVX512;
    return PYWD_ISA_AVX2;
}
#endif

/* Whether unit `level` was built (common.h: PYWD_UNITS may leave one out). */
static int built(int level)
{
    return level == PYWD_ISA_BASELINE || (level == PYWD_ISA_AVX2 && PYWD_AVX2_UNIT) ||
           (level == PYWD_ISA_AVX512 && PYWD_AVX512_UNIT);
}

#if PYWD_X86_DISPATCH
/* The widest built unit at most `level`. */
static int built_up_to(int level)
{
    while (!built(level)) level--;
    return level;
}

/* The widest unit built that this CPU and OS run. */
static int supported(void) { return built_up_to(runs()); }
#endif

static const char *const names[] = {"baseline", "avx2", "avx512"};

/* The supported unit, or the one PYWD_ISA asks for when the CPU has it (a wider one than
 * the CPU has: the widest it has; one not built: the widest built below it). */
static int detect(void)
{
#if PYWD_X86_DISPATCH
    const char *asked = getenv("PYWD_ISA");
    int level = supported(), k;
    for (k = 0; asked && k <= PYWD_ISA_AVX512; k++)
        if (strcmp(asked, names[k]) == 0 && k < level) level = built_up_to(k);
    return level;
#else
    return PYWD_ISA_BASELINE;
#endif
}

int pywd_isa_level(void)
{
    /* a benign race: every thread computes the same answer */
    static int cached = -1;
    if (cached < 0) cached = detect();
    return cached;
}

const char *pywd_isa(void) { return names[pywd_isa_level()]; }

#if PYWD_X86_DISPATCH
/* Whether the AVX-512 unit runs and uses an extension the CPU has, found once (a benign
 * race, as above). */
static int avx512_extension(int *cached, int (*has)(void))
{
    if (*cached < 0) *cached = pywd_isa_level() == PYWD_ISA_AVX512 && has();
    return *cached;
}
#endif

int pywd_avx512bf16(void)
{
#if PYWD_X86_DISPATCH
    static int cached = -1;
    return avx512_extension(&cached, has_avx512bf16);
#else
    return 0;
#endif
}

int pywd_avx512vbmi(void)
{
#if PYWD_X86_DISPATCH
    static int cached = -1;
    return avx512_extension(&cached, has_avx512vbmi);
#else
    return 0;
#endif
}

int pywd_isa_built(int level) { return level >= 0 && level <= PYWD_ISA_AVX512 && built(level); }

const char *pywd_isa_supported(void)
{
#if PYWD_X86_DISPATCH
    return names[supported()];
#else
    return names[PYWD_ISA_BASELINE];
#endif
}
