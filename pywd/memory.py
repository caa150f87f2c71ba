"""Arrays in memory pywd places: ``pywd.empty``, ``zeros``, ``empty_like``, ``zeros_like``.

NumPy's own signatures and results (ordinary ndarrays that own their memory through their
base, freed when the last view dies; they pickle and ``np.save`` as any array), placed for
streaming kernels:

- every array starts on a 64-byte boundary (a cache line, a full AVX-512 vector);
- from 2 MB up, on Linux, each array gets its own private anonymous mapping advised
  ``MADV_HUGEPAGE`` (so transparent huge pages apply when THP is "madvise", the common
  default), and starts a staggered distance past a 2 MB boundary (STAGGER below).

Why (``bench/placement.py`` measures it; docs/memory.md): arrays of the same size
made one after another by ``np.zeros`` land exactly 64 MB + 4 KB apart (glibc maps each one
with a 4 KB header page), so with huge pages their physical addresses agree in bits 12-20
but one page: the four streams of an AdamW step then compete for the same DRAM banks, and
the step runs at about 33 GB/s instead of 50-58. Any placement that breaks that regularity
runs at the higher rate; among controlled ones, streams a multiple of 256 KB apart modulo
2 MB were the fastest and 4 KB apart the slowest.

``PYWD_HUGEPAGES=0`` in the environment drops the huge-page advice (the bytes are the same);
where ``mmap`` lacks private anonymous mappings or ``madvise`` (Windows, say), every array takes
the 64-byte-aligned path.
"""
import mmap
import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["empty", "zeros", "empty_like", "zeros_like", "huge_page_bytes", "thp_mode",
           "describe"]

ALIGN = 64
HUGE = 2 << 20                  # an x86-64 / arm64 transparent huge page
BIG = HUGE                      # arrays from this size up get their own mapping
_CAN_MAP = hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS")
_ADVISE = getattr(mmap, "MADV_HUGEPAGE", None) if hasattr(mmap.mmap, "madvise") else None

# Each big array starts a different distance past its 2 MB boundary, stepping by STAGGER and
# wrapping at HUGE, so that the arrays of one kernel call differ in the address bits that
# pick DRAM banks (see the module's docstring).
STAGGER = 3 << 18               # 768 KB: 8 distinct offsets, multiples of 256 KB
_counter = 0
_lock = threading.Lock()

Shape = int | Sequence[int]
Order = Literal["C", "F"]


def empty(shape: Shape, dtype: npt.DTypeLike = np.float64, order: Order = "C"
          ) -> npt.NDArray[Any]:
    """``numpy.empty`` in pywd-placed memory (see the module's docstring): 64-byte aligned,
    and from 2 MB up on a huge-page-advised mapping of its own. The values are undefined.

    Equation: the result is ``shape`` elements of ``dtype`` in ``order``, as NumPy's. NumPy
    equivalent: ``np.empty(shape, dtype, order)``; torch equivalent: ``torch.empty`` (64-byte
    aligned too; huge pages only under ``C10_THP_MEM_ALLOC_ENABLE=1``)."""
    return _allocate(shape, dtype, order, zero=False)


def zeros(shape: Shape, dtype: npt.DTypeLike = np.float64, order: Order = "C"
          ) -> npt.NDArray[Any]:
    """``numpy.zeros`` in pywd-placed memory (a new mapping is zero already: no pass).

    NumPy equivalent: ``np.zeros(shape, dtype, order)``; torch equivalent: ``torch.zeros``."""
    return _allocate(shape, dtype, order, zero=True)


def empty_like(prototype: npt.ArrayLike, dtype: npt.DTypeLike | None = None,
               order: Literal["K", "A", "C", "F"] = "K", shape: Shape | None = None
               ) -> npt.NDArray[Any]:
    """``numpy.empty_like`` in pywd-placed memory: the prototype's shape, dtype and (order
    "K") memory order, as NumPy would lay them out; always a base-class ndarray.

    NumPy equivalent: ``np.empty_like(prototype, dtype, order, shape=shape)``; torch
    equivalent: ``torch.empty_like``."""
    return _allocate_like(prototype, dtype, order, shape, zero=False)


def zeros_like(prototype: npt.ArrayLike, dtype: npt.DTypeLike | None = None,
               order: Literal["K", "A", "C", "F"] = "K", shape: Shape | None = None
               ) -> npt.NDArray[Any]:
    """``numpy.zeros_like`` in pywd-placed memory (see :func:`empty_like`).

    NumPy equivalent: ``np.zeros_like(prototype, dtype, order, shape=shape)``; torch
    equivalent: ``torch.zeros_like``."""
    return _allocate_like(prototype, dtype, order, shape, zero=True)


def _allocate_like(prototype, dtype, order, shape, zero):
    proto = prototype if isinstance(prototype, np.ndarray) else np.asarray(prototype)
    dtype = proto.dtype if dtype is None else dtype
    if order not in ("K", "A", "C", "F"):
        raise ValueError(f"order must be 'K', 'A', 'C' or 'F', got {order!r}")
    shape = proto.shape if shape is None else _shape(shape)
    fortran = proto.flags.f_contiguous and not proto.flags.c_contiguous
    # NumPy's rules: "A" is F for an F-ordered prototype, "K" keeps the prototype's order
    # of axes when the shape has as many (else C)
    if order == "F" or (order in "AK" and fortran and (order == "A" or len(shape) == proto.ndim)):
        return _allocate(shape, dtype, "F", zero)
    if order != "K" or proto.flags.c_contiguous or len(shape) != proto.ndim:
        return _allocate(shape, dtype, "C", zero)
    # order "K" of a non-contiguous prototype: its axes by decreasing stride, as NumPy does
    axes = sorted(range(proto.ndim), key=lambda i: -abs(proto.strides[i]))
    out = _allocate(tuple(shape[i] for i in axes), dtype, "C", zero)
    # a subarray dtype's axes come last, innermost, as NumPy lays them out
    return out.transpose([*np.argsort(axes), *range(proto.ndim, out.ndim)])


def _shape(shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0
           for d in shape):
        raise ValueError(f"shape must be ints >= 0, got {shape!r}")
    return shape


def _allocate(shape, dtype, order, zero):
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise TypeError(f"pywd.empty/zeros hold numbers, not Python objects (dtype {dtype})")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    shape = _shape(shape)
    if dtype.subdtype is not None:   # a subarray dtype, (np.float32, (3,)): as NumPy, its
        dtype, sub = dtype.subdtype  # shape is appended and its base is the array's dtype
        shape += sub
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if nbytes == 0:
        return np.zeros(shape, dtype, order)
    raw = _mapped(nbytes) if nbytes >= BIG and _CAN_MAP else _aligned(nbytes, zero)
    return raw.view(dtype).reshape(shape, order=order)


def _aligned(nbytes, zero):
    """nbytes from NumPy's allocator, starting on a 64-byte boundary."""
    raw = (np.zeros if zero else np.empty)(nbytes + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes]


def _mapped(nbytes):
    """nbytes in a private anonymous mapping of their own (zero, as the kernel gives it),
    starting the next staggered distance past a 2 MB boundary, advised for huge pages."""
    global _counter
    with _lock:
        offset = _counter * STAGGER % HUGE
        _counter += 1
    size = nbytes + offset + HUGE                 # room to reach a 2 MB boundary
    size += -size % mmap.PAGESIZE
    try:
        region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except OSError as err:                        # as NumPy reports an allocation failure
        raise MemoryError(f"cannot allocate {nbytes} bytes: {err}") from None
    raw = np.frombuffer(region, np.uint8)         # keeps the mapping alive; unmapped with it
    start = -raw.ctypes.data % HUGE
    if _advising():
        region.madvise(_ADVISE, start, size - start)
    return raw[start + offset:start + offset + nbytes]


def _advising():
    """Whether big arrays get MADV_HUGEPAGE: where madvise has it, unless PYWD_HUGEPAGES=0
    (read at each allocation, so that it can be set at any time)."""
    return _ADVISE is not None and os.environ.get("PYWD_HUGEPAGES", "1") != "0"


def thp_mode() -> str:
    """Linux's transparent huge page mode ("always", "madvise", "never"), or "unknown"."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return "unknown"
    start, end = text.find("["), text.find("]")
    return text[start + 1:end] if 0 <= start < end else "unknown"


def huge_page_bytes(array: npt.NDArray[Any]) -> int | None:
    """Bytes of huge pages (AnonHugePages) in the mappings that hold `array`'s memory, from
    /proc/self/smaps; None where that cannot be read. Pages count once touched."""
    lo = array.ctypes.data
    hi = lo + max(array.nbytes, 1)
    total, inside = 0, False
    try:
        with open("/proc/self/smaps") as f:
            for line in f:
                head = line.split(None, 1)[0]
                if "-" in head and not head.endswith(":"):
                    start, end = (int(x, 16) for x in head.split("-"))
                    inside = start < hi and lo < end
                elif inside and head == "AnonHugePages:":
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return total


def describe() -> str:
    """What the allocator does here and what a probe of 4 MB got (for show_config)."""
    if not _CAN_MAP:
        return "64-byte aligned NumPy memory (no private anonymous mmap on this platform)"
    advice = "MADV_HUGEPAGE" if _advising() else "no huge-page advice"
    probe = zeros(4 << 20, np.uint8)
    probe[::4096] = 1                               # touch every page
    huge = huge_page_bytes(probe)
    # (the probe starts past a 2 MB boundary, so its mapping's huge pages span more than
    # its 4 MB: 6 MB when all of it is on huge pages)
    got = "unknown" if huge is None else f"{min(huge, probe.nbytes) >> 20} MB of 4 MB"
    return (f"64-byte aligned; from 2 MB up a private mapping per array, 2 MB-aligned, "
            f"{advice}; a touched 4 MB probe on huge pages: {got}")
