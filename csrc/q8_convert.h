/* float32 values to 8-bit state and back as functions of their own (the kernels convert per
 * tile, lowp.h): pywd.quantize and pywd.dequantize, and so the tests' window on each unit's
 * vector loops. Stamped once per ISA unit (with the float32 kernels). */
#if !REAL_IS_DOUBLE
void PYWD_CONCAT(pywd_q8_quantize, ISA_SUFFIX)(const pywd_q8_map *m, const float *src, int64_t n,
                                               unsigned char *codes, float *absmax);
void PYWD_CONCAT(pywd_q8_quantize, ISA_SUFFIX)(const pywd_q8_map *m, const float *src, int64_t n,
                                               unsigned char *codes, float *absmax)
{
    pywd_q8_encode(m, src, 0, n, codes, absmax);
}

void PYWD_CONCAT(pywd_q8_dequantize, ISA_SUFFIX)(const pywd_q8_map *m, const unsigned char *codes,
                                                 const float *absmax, int64_t n, float *dst);
void PYWD_CONCAT(pywd_q8_dequantize, ISA_SUFFIX)(const pywd_q8_map *m, const unsigned char *codes,
                                                 const float *absmax, int64_t n, float *dst)
{
    pywd_q8_decode(m, codes, absmax, 0, n, dst);
}
#endif
