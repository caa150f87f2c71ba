/* torch.lerp(s, e, t) as the kernels write it, with torch's CPU formula: s + t*(e - s) for
 * t < 0.5, else e + (t - 1)*(e - s). The form is chosen once per call: pywd_lerp_form gives
 * the weight the loop multiplies by (t, or t - 1 rounded once, in double) and whether it is
 * the second form; NAME(lerp) applies it. The stamped part follows its includer's NAME and
 * `real` (no include guard for it, as for weight_decay.h). */
#ifndef PYWD_LERP_FORM_DEFINED
#define PYWD_LERP_FORM_DEFINED
static inline double pywd_lerp_form(double t, int *near_end)
{
    *near_end = t >= 0.5;
    return *near_end ? t - 1.0 : t;
}
#endif

PYWD_INLINE real NAME(lerp)(real s, real e, real weight, const int near_end)
{
    return (near_end ? e : s) + weight * (e - s);
}
