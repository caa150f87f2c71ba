/* Shared by the kernel translation units: portability macros and the multi-tensor driver. */
#ifndef PYWD_COMMON_H
#define PYWD_COMMON_H

#include <stdint.h>

#if defined(_MSC_VER)
#define PYWD_RESTRICT __restrict
#define PYWD_INLINE static __forceinline
#else
#define PYWD_RESTRICT restrict
#define PYWD_INLINE static inline __attribute__((always_inline))
#endif

#define PYWD_CONCAT_(a, b) a##_##b
#define PYWD_CONCAT(a, b) PYWD_CONCAT_(a, b)

/* Below this many elements per thread a parallel region costs more than it saves
 * (waking a team is a few microseconds; 32K float elements of SGD is about that). */
#define PYWD_GRAIN 32768

/* Work on elements [begin, end) of tensor `tensor` of a call. */
typedef void (*pywd_span_fn)(const void *ctx, int64_t tensor, int64_t begin, int64_t end);

/* Runs fn over every element of n tensors: the tensors are laid end to end as one virtual
 * range, cut into one contiguous slice per thread, and each slice is walked tensor by tensor.
 * Elementwise kernels give the same bytes whatever the number of threads. */
void pywd_run_spans(int64_t n, const int64_t *sizes, pywd_span_fn fn, const void *ctx);

/* Work on blocks [lo, hi) of a call cut into fixed blocks (a reduction's partial sums). */
typedef void (*pywd_blocks_fn)(const void *ctx, int64_t lo, int64_t hi);

/* Runs fn over blocks [0, nblocks), one contiguous range per thread when `total` elements of
 * work are worth a team. The blocks, not the threads, fix what each partial result covers. */
void pywd_run_blocks(int64_t nblocks, int64_t total, pywd_blocks_fn fn, const void *ctx);

/* Team size for `total` elements of work: the OpenMP limit, fewer for small work. */
int pywd_team_size(int64_t total);

/* Per-tensor sums that do not depend on the thread count (the trust ratios' norms): each
 * tensor is cut into blocks of PYWD_SUM_BLOCK elements from its start; fn adds block
 * [begin, begin + len) of tensor t's k sums into sums[0..k) (in a fixed order of its own,
 * PYWD_SUM_LANES running lanes added pairwise: pywd_sum_lanes); the block sums are added in
 * block order into out[t*k + j], which the caller zeroes (k <= 4). Threads only share out
 * blocks. */
#define PYWD_SUM_BLOCK 8192
#define PYWD_SUM_LANES 16
typedef void (*pywd_block_sums_fn)(const void *ctx, int64_t t, int64_t begin, int64_t len,
                                   double *sums);
void pywd_tensor_sums(int64_t n, const int64_t *sizes, int k, pywd_block_sums_fn fn,
                      const void *ctx, double *out);

/* acc[0] + ... + acc[PYWD_SUM_LANES - 1], added pairwise (the lanes' fixed order). */
static inline double pywd_sum_lanes(double *acc)
{
    int width, j;
    for (width = PYWD_SUM_LANES / 2; width >= 1; width /= 2)
        for (j = 0; j < width; j++) acc[j] += acc[j + width];
    return acc[0];
}

#endif

/* Run-time ISA choice: the portable baseline is always built; on x86-64 with gcc/clang the
 * same kernel bodies are also built for AVX2 (unit_avx2.c) and for AVX-512 (unit_avx512.c:
 * x86-64-v4's F, BW, DQ and VL), and the widest the CPU and the OS (XCR0) support is chosen
 * once per process. Contraction stays off (setup.py passes -ffp-contract=off) and no loop
 * reassociates, so every unit gives the same bytes. PYWD_ISA=baseline, avx2 or avx512 asks
 * for a unit (the widest the CPU has, at most the one asked: for tests and comparisons). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(PYWD_NO_DISPATCH)
#define PYWD_X86_DISPATCH 1
#else
#define PYWD_X86_DISPATCH 0
#endif

/* The units built (setup.py's PYWD_UNITS may leave out AVX2's or AVX-512's, for a build that
 * only runs on the machine that made it): a unit left out is never chosen (cpu.c). */
#if PYWD_X86_DISPATCH && !defined(PYWD_NO_AVX2_UNIT)
#define PYWD_AVX2_UNIT 1
#else
#define PYWD_AVX2_UNIT 0
#endif
#if PYWD_X86_DISPATCH && !defined(PYWD_NO_AVX512_UNIT)
#define PYWD_AVX512_UNIT 1
#else
#define PYWD_AVX512_UNIT 0
#endif

/* Compile what follows for AVX2 + FMA + F16C (unit_avx2.c): gcc's target pragma, or clang's
 * equivalent (clang ignores the gcc pragma). */
#if defined(__clang__)
#define PYWD_AVX2_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c\"))), apply_to = function)")
#define PYWD_AVX2_END _Pragma("clang attribute pop")
#else
#define PYWD_AVX2_BEGIN _Pragma("GCC target(\"avx2,fma,f16c\")")
#define PYWD_AVX2_END
#endif

/* The same for AVX-512 (unit_avx512.c), its loops vectorised at the full 64 bytes (gcc's
 * generic tuning would keep 32). */
#if defined(__clang__) /* (clang's target takes no vector width: its own choice) */
#define PYWD_AVX512_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c\"))), apply_to = function)")
#define PYWD_AVX512_END _Pragma("clang attribute pop")
#else
#define PYWD_AVX512_BEGIN \
    _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,prefer-vector-width=512\")")
#define PYWD_AVX512_END
#endif

/* The unit the kernels run: 0 baseline, 1 AVX2, 2 AVX-512 (cpu.c). */
enum { PYWD_ISA_BASELINE = 0, PYWD_ISA_AVX2 = 1, PYWD_ISA_AVX512 = 2 };
int pywd_isa_level(void);
