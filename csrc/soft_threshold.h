/* The proximal step of threshold*|w|_1 (decay "l1"): sign(w)*max(|w| - threshold, 0).
 * Included by kernel bodies and stamped with them (NAME and `real` come from the includer).
 * Branch-free so that it vectorises (weights' signs are random: a branch mispredicts); `t < 0`
 * is false for NaN, so a NaN weight stays NaN, as with NumPy's maximum. */
PYWD_INLINE real NAME(soft_threshold)(real w, real threshold)
{
    real t = REAL_FABS(w) - threshold;
    t = t < 0 ? (real)0 : t;
    return REAL_COPYSIGN(t, w);
}
