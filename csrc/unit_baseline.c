/* Every kernel for the portable baseline (x86-64, aarch64, ...): csrc/kernels.h stamped for
 * float and double. entry.c's public entry points call these or a faster unit's. */
#include <math.h>
#include <stdlib.h>

#include "adafactor_plan.h"
#include "common.h"
#include "fastmath_f32.h"
#include "fastmath_f64.h"
#include "lowp.h"
#include "normal_cdf.h"
#include "philox.h"
#include "pywd.h"

#define KERNEL_BODY "kernels.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"
