/* Every kernel for AVX2 + FMA + F16C (chosen at run time by entry.c; empty off x86 and
 * gcc/clang, and where setup.py's PYWD_UNITS leaves it out): csrc/kernels.h stamped for
 * float and double, with the vectorised Philox and float16 conversions. */
#include <math.h>
#include <stdlib.h>

#include "adafactor_plan.h"
#include "common.h"
#include "pywd.h"

#if PYWD_AVX2_UNIT
#include <immintrin.h> /* before the target switch: the intrinsics carry their own */
PYWD_AVX2_BEGIN
#include "fastmath_f32.h"
#include "fastmath_f64.h"
#include "normal_cdf.h"
#include "philox.h"
#include "philox_avx2.h"
#define PYWD_PHILOX_WORDS pywd_philox_words_x8 /* 8 blocks a pass */
#define PYWD_F16C 1
#define PYWD_Q8_AVX2 1 /* csrc/q8.h: its vector loops */
#include "lowp.h" /* its noise and conversions, vectorised for AVX2 */
#define KERNEL_BODY "kernels.h"
#define ISA_SUFFIX avx2
#include "isa_stamp.h"
PYWD_AVX2_END
#endif
