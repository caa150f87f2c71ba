# 16-bit storage (csrc/lowp.h): bfloat16 and float16 arrays in a float32 kernel's call, and
# how their stored values are rounded. The arithmetic is float32's; each written 16-bit value
# is rounded once, to nearest or stochastically with Philox bits keyed by the seed of `rng`
# and counted by (step, tensor, argument, element).
from . import _generator

ROUNDING_MODES = ("stochastic", "nearest")

LOWP_OPTIONS_DOC = """\
    rounding : {"stochastic", "nearest"}, default "stochastic"
        How the values written to bfloat16 or float16 arrays are rounded (ignored when the
        call writes none; bfloat16 needs ``ml_dtypes``, the ``lowp`` extra). The update is
        computed in float32, exactly as for float32 arrays, and each stored value rounded
        once. "stochastic": up with probability the fraction of the gap below, so the
        rounding is unbiased and small updates and decay accumulate (16 random bits for
        bfloat16, 13 for float16); "nearest": ties to even, as ``astype``.
    rng : int, pywd.Generator or None
        Stochastic rounding's seed: an int, a Generator's seed (its position is not used),
        or None for the default generator's (``pywd.seed``). The random bits are a function
        of (seed, step, tensor index in the list, argument, element) only: the same bytes at
        any thread count.
    compensation : ndarray or list/tuple of ndarray, optional
        Kahan summation for 16-bit params (torch-optimi's scheme), arrays like params of
        their dtype, zeros at first, updated in place: the params are rounded to nearest and
        the compensation keeps what the rounding lost (``s = c + update; w' = round(w + s);
        c = round(s - (w' - w))``), so small updates accumulate without random bits, for 2
        more bytes read and written per element.
"""


cdef int add_compensation(_Batch b, object compensation) except -1:
    """compensation's arrays (like params, written) as the batch's next argument."""
    if compensation is not None:
        b.add(compensation, "compensation", True)
    return 0


cdef int setup_lowp(pywd_lowp *lp, _Batch b, tuple slots, object rounding, object rng,
                    object step, object compensation=None, bint anchored=False,
                    str q8_kernel=None, unsigned q8_unsigned=0) except -1:
    """Fills lp for a call whose batch arguments go to the kernel's array slots `slots`
    (pywd.h: 0 params, 1 grads, 2.. state, 5 anchors; a compensation, added before the
    anchors, has none), checking rounding= always and rng= and step= when stochastic
    rounding will draw bits. 8-bit state (QuantizedState) only where `q8_kernel` names the
    kernel (the element-wise driver's, LAMB's, LARS's), its unsigned map only in the slots
    of the bits of `q8_unsigned` (non-negative state). Returns 1 if the call has a 16-bit or
    8-bit array (then the kernel takes lp), else 0."""
    cdef int q, slot, mode, comp = -1
    cdef bint draws = False
    if rounding is None:
        mode = PYWD_ROUND_STOCHASTIC
    elif not isinstance(rounding, str) or rounding not in ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {ROUNDING_MODES}, got {rounding!r}")
    else:
        mode = PYWD_ROUND_STOCHASTIC if rounding == "stochastic" else PYWD_ROUND_NEAREST
    if rng is not None and not isinstance(rng, _generator.Generator) and (
            type(rng) is bool or not isinstance(rng, numbers.Integral)):
        raise TypeError(f"rng must be an int seed, a pywd.Generator or None, got "
                        f"{type(rng).__name__}")
    lp.rounding = mode
    lp.seed = lp.step = 0
    lp.ids = b.ids
    lp.compensation = NULL
    lp.sizes = NULL
    lp.q8 = 0
    for q in range(PYWD_LOWP_ARGS):
        lp.dtype[q] = DT_F32
        lp.qmap[q] = NULL
        lp.absmax[q] = NULL
    if compensation is not None:
        comp = b.nops - 1 - anchored
        if b.n and not (b.codes[0] == DT_BF16 or b.codes[0] == DT_F16):
            raise TypeError(f"compensation is for bfloat16 and float16 params; params are "
                            f"{DTYPE_NAMES[b.codes[0]]}")
        if b.n and b.codes[comp] != b.codes[0]:
            raise TypeError(f"compensation must be {DTYPE_NAMES[b.codes[0]]} like params, got "
                            f"{DTYPE_NAMES[b.codes[comp]]}")
        slots = slots[:comp] + (-1,) + slots[comp:]
        lp.compensation = arg(b, comp)
    if not b.lowp:
        return 0
    if len(slots) != b.nops:
        raise RuntimeError("pywd internal error: one slot per argument")
    if b.n > (1 << 24) or (b.ids != NULL and any(b.ids[i] >= (1 << 24) for i in range(b.n))):
        raise ValueError("a call with 16-bit arrays indexes fewer than 2**24 tensors "
                         "(stochastic rounding's counters hold 24 bits of the index)")
    for q in range(b.nops):
        if b.codes[q] == DT_Q8:
            slot = -1 if q == comp else <int>slots[q]
            if slot < 2 or slot >= PYWD_SLOT_COUNT:
                raise TypeError(f"{<str>b.names[q]}: 8-bit quantised storage is for "
                                f"optimiser state")
            if q8_kernel is None:
                raise TypeError(f"{<str>b.names[q]}: this optimiser does not take 8-bit "
                                f"state (the element-wise ones, LAMB and LARS do; Muon and "
                                f"Adafactor not yet): pass float32 or 16-bit state")
            setup_q8_slot(lp, b, q, slot, (q8_unsigned >> slot) & 1u)
        if q == comp or (q == 0 and comp >= 0):    # Kahan: params rounded to nearest
            lp.dtype[0] = b.codes[0]
            continue
        lp.dtype[<int>slots[q]] = b.codes[q]
        draws = draws or (b.written[q] and (b.codes[q] == DT_BF16 or b.codes[q] == DT_F16))
    if draws and mode == PYWD_ROUND_STOCHASTIC:
        lp.seed = _generator.as_generator(rng).seed
        if step is None:
            raise ValueError("stochastic rounding of 16-bit arrays needs step=, the step "
                             "being taken (an int >= 1): each step draws new random bits. "
                             "Pass it, or rounding='nearest'")
        lp.step = check_step(step)
    return 1
