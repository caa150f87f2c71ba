/* Fills: fill_impl.h stamped for float and double (portable baseline), and the public entry
 * points, which pick this stamp or fill_avx2.c's at run time. */
#include <math.h>

#include "common.h"
#include "dispatch.h"
#include "fastmath_f32.h"
#include "fastmath_f64.h"
#include "normal_cdf.h"
#include "philox.h"
#include "pywd.h"

#define KERNEL_BODY "fill_impl.h"
#define ISA_SUFFIX baseline
#include "isa_stamp.h"

#define FILL_PARAMS(real) (const pywd_fill_hyper *h, real *dst, int64_t n)
PYWD_DISPATCH(pywd_fill_f32, FILL_PARAMS(float), (h, dst, n))
PYWD_DISPATCH(pywd_fill_f64, FILL_PARAMS(double), (h, dst, n))

void pywd_philox_words(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    pywd_philox_block b =
        pywd_philox4x32(counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
    int j;
    for (j = 0; j < 4; j++) out[j] = b.v[j];
}
