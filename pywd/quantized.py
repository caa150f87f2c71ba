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


_UP, _DOWN = np.float32(np.inf), np.float32(0)      # (float32 steps for np.nextafter)


def requantize(values, signed=True):
    """8-bit state whose decoded values are `values` (float32) bit for bit, where some such
    state exists: values decoded from 8-bit state, as pywd.torch saves a sharded
    parameter's, so that a run resumed from them steps as the uninterrupted one (whose
    kernels only ever use the decoded values). :func:`quantize` gives it but for a signed
    block whose largest magnitude is negative: the signed map's most negative value is
    -0.99296875..., not -1, so that element decoded to 0.993 of the block's scale; its scale
    is recovered here (the float32 nearest ``|value| / 0.993``, or a neighbour, whichever
    decodes every element of the block back). Other values get :func:`quantize`'s state.

    NumPy equivalent: ``pywd.reference.q8_encode`` of ``values``, then per such block a
    search over a few float32 scales near ``min / map.min()``. torch/bitsandbytes: none
    (``quantize_blockwise`` is :func:`quantize`)."""
    state = quantize(values, signed)
    array = np.asarray(values, dtype=np.float32)
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    flat = array.ravel(order=order)
    blocks = _q8_blocks(flat.size)
    grid = np.zeros(blocks * BLOCK, np.float32)
    grid[:flat.size] = flat
    grid = grid.reshape(blocks, BLOCK)
    decoded = np.zeros_like(grid)
    decoded.ravel()[:flat.size] = state.dequantize().ravel(order=order)
    table = QuantizedState.maps(signed)
    mids = (table[:-1] + table[1:]) / np.float32(2)
    fix = np.flatnonzero((decoded != grid).any(axis=1) & (grid.min(axis=1) < 0))
    x = grid[fix]
    guess = (-x.min(axis=1).astype(np.float64) / -float(table.min())).astype(np.float32)
    up, down = np.nextafter(guess, _UP), np.nextafter(guess, _DOWN)   # within a step of it
    done = np.zeros(len(fix), bool)
    codes = state.codes.ravel(order="K")            # (a view: blocks in memory order)
    for scale in (guess, up, down, np.nextafter(up, _UP), np.nextafter(down, _DOWN)):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            near = np.searchsorted(mids, np.clip(x / scale[:, None], -1, 1)).astype(np.uint8)
            exact = ~done & (table[near] * scale[:, None] == x).all(axis=1)
        for row in np.flatnonzero(exact):
            b = fix[row]
            lo, hi = b * BLOCK, min((b + 1) * BLOCK, flat.size)
            codes[lo:hi] = near[row, :hi - lo]
            state.absmax[b] = scale[row]
        done |= exact
    return state
