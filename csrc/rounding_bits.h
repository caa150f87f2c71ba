/* The stochastic rounding's random bits as a function of their own (lowp.h draws them per
 * tile inside the kernels): what pywd._kernels._rounding_bits returns, for the tests against
 * the NumPy twin and for statistical batteries (pywd/bench/rounding_stream.py). Stamped once
 * per ISA unit (with the float32 kernels). */
#if !REAL_IS_DOUBLE
void PYWD_CONCAT(pywd_rounding_bits, ISA_SUFFIX)(uint64_t seed, uint64_t step, uint32_t id,
                                                 int k, int64_t start, int64_t n,
                                                 uint16_t *out);
void PYWD_CONCAT(pywd_rounding_bits, ISA_SUFFIX)(uint64_t seed, uint64_t step, uint32_t id,
                                                 int k, int64_t start, int64_t n, uint16_t *out)
{
    uint32_t words[PYWD_TILE / 2 + 1];
    int64_t ids[1], s, len;
    pywd_lowp lp;
    memset(&lp, 0, sizeof lp);
    lp.seed = seed;
    lp.step = step;
    ids[0] = id;
    lp.ids = ids;
    for (s = 0; s < n; s += len) {
        len = n - s < PYWD_TILE ? n - s : PYWD_TILE;
        memcpy(out + s, pywd_tile_noise(&lp, 0, k, start + s, len, words), (size_t)len * 2);
    }
}
#endif
