/* adagrad_impl.h stamped for AVX2 (chosen at run time by adagrad.c; empty off x86 and gcc/clang). */
#include <math.h>

#include "common.h"
#include "pywd.h"

#if PYWD_X86_DISPATCH
PYWD_AVX2_BEGIN
#define KERNEL_BODY "adagrad_impl.h"
#define ISA_SUFFIX avx2
#include "isa_stamp.h"
PYWD_AVX2_END
#endif
