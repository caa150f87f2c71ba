"""8-bit optimiser state: making it, and converting it to and from float32.

:class:`pywd.QuantizedState` (the codes of one state array, with their blocks' scales) is
taken wherever an element-wise optimiser takes a state array (csrc/q8.h has the format).
"""
import numpy as np

from . import memory
from ._kernels import Q8_BLOCK as BLOCK     # elements per block: one float32 scale each
from ._kernels import QuantizedState, _q8_blocks, _q8_check, _q8_encode, _quantized


def _check_signed(signed):
    if type(signed) is not bool:
        raise TypeError(f"signed must be True or False, got {signed!r}")
    return signed


def quantized_zeros_like(params, signed=True):
    """8-bit state of zeros shaped (and ordered, C or F) as `params` (an array, or a list or
    tuple of them: a list back): codes of 0.0 with scales 0, so that it reads 0 exactly as
    ``np.zeros_like`` state does. ``signed=True``: bitsandbytes' signed dynamic map, for
    state that changes sign (momentum, first moments); False: the unsigned one, for
    non-negative state (second moments, sums of squares), which it resolves twice as finely.

    NumPy equivalent: ``np.zeros_like(params, dtype=np.float32)`` (4 bytes per element;
    this takes 1 and 4 per block of 256). torch has no 8-bit state; bitsandbytes' 8-bit
    optimisers create the same (``state1``/``state2`` with ``absmax1``/``absmax2``).
    """
    _check_signed(signed)
    if type(params) is list or type(params) is tuple:
        return [quantized_zeros_like(p, signed) for p in params]
    if not hasattr(params, "shape"):
        raise TypeError(f"params must be an array or a list/tuple of them, got "
                        f"{type(params).__name__}")
    codes = memory.empty_like(params, np.uint8, order="A")         # placed, C or F as it
    codes[...] = np.searchsorted(QuantizedState.maps(signed), 0.0)  # the code of 0.0
    return _quantized(codes, np.zeros(_q8_blocks(codes.size), np.float32), signed)


def quantize(values, signed=True):
    """float32 `values` (an array, or a list/tuple of them: a list back) as 8-bit state:
    each block of 256 elements scaled by its largest magnitude, each value stored as the
    code of the nearest of the map's 256 values (the lower on a tie), as bitsandbytes'
    ``quantize_blockwise`` does (its exact, bucketize form). ``signed``: as
    :func:`quantized_zeros_like`.

    NumPy equivalent (the twin, pywd.reference.q8_encode): ``absmax = abs(x).max()`` per
    block, ``codes = searchsorted(midpoints, x * (1 / absmax))``. torch/bitsandbytes:
    ``bitsandbytes.functional.quantize_blockwise(x, code=create_dynamic_map(signed),
    blocksize=256)``."""
    _check_signed(signed)
    if type(values) is list or type(values) is tuple:
        return [quantize(v, signed) for v in values]
    if isinstance(values, QuantizedState):
        values = values.dequantize()
    array = np.asarray(values)
    if array.dtype != np.float32:
        raise TypeError(f"values must be float32, got {array.dtype} (pass "
                        f"values.astype(np.float32))")
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    state = _quantized(memory.empty_like(array, np.uint8, order="A"),   # its order, C or F
                       np.empty(_q8_blocks(array.size), np.float32), signed)
    _q8_encode(state, array)
    return state


def dequantize(state):
    """The float32 values of 8-bit state (a QuantizedState, or a list/tuple of them: a list
    back): ``map[code] * absmax`` of its block, shaped and ordered as the codes.

    NumPy equivalent: ``qmap[codes] * np.repeat(absmax, 256)[:codes.size]``.
    torch/bitsandbytes: ``bitsandbytes.functional.dequantize_blockwise``."""
    if type(state) is list or type(state) is tuple:
        return [dequantize(s) for s in state]
    if not isinstance(state, QuantizedState):
        raise TypeError(f"state must be a pywd.QuantizedState, got {type(state).__name__}")
    _q8_check(state, "state")
    return state.dequantize()
