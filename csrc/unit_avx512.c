/* Every kernel for AVX-512 (F, BW, DQ, VL, with AVX2, FMA and F16C: x86-64-v4; chosen at
 * run time by entry.c; empty off x86 and gcc/clang, and where setup.py's PYWD_UNITS leaves
 * it out): csrc/kernels.h stamped for float and
 * double, loops vectorised 64 bytes wide, with the vectorised Philox and float16
 * conversions, and AVX512-BF16's rounding to nearest where the CPU has it (gcc). */
#include <math.h>
#include <stdlib.h>

#include "adafactor_plan.h"
#include "common.h"
#include "pywd.h"

#if PYWD_AVX512_UNIT
#include <immintrin.h> /* before the target switch: the intrinsics carry their own */
PYWD_AVX512_BEGIN
#include "fastmath_f32.h"
#include "fastmath_f64.h"
#include "normal_cdf.h"
#include "philox.h"
#include "philox_avx2.h"
#include "philox_avx512.h"
#define PYWD_PHILOX_WORDS pywd_philox_words_x16 /* 16 blocks a pass */
#define PYWD_F16C 1
#define PYWD_Q8_AVX512 1 /* csrc/q8.h: its vector loops */
#define PYWD_Q8_VBMI 1   /* and its decode with AVX512-VBMI where the CPU has it */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 /* AVX512-BF16's intrinsics */
#define PYWD_AVX512_BF16 1
#endif
#include "lowp.h" /* its noise and conversions, vectorised */
#define KERNEL_BODY "kernels.h"
#define ISA_SUFFIX avx512
#include "isa_stamp.h"
PYWD_AVX512_END
#endif
