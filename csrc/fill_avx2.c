/* fill_impl.h stamped for AVX2 (chosen at run time by fill.c; empty off x86 and gcc/clang). */
#include <math.h>

#include "common.h"
#include "pywd.h"

#if PYWD_X86_DISPATCH
#pragma GCC target("avx2,fma")
#include "fastmath_f32.h"
#include "normal_cdf.h"
#include "philox.h"
#include "philox_avx2.h"
#define PYWD_PHILOX_X8 1
#define KERNEL_BODY "fill_impl.h"
#define ISA_SUFFIX avx2
#include "isa_stamp.h"
#endif
