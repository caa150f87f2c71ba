"""FlatParams: a whole model's parameters in one contiguous buffer, with a view per parameter.

A model is usually a list of arrays; laid end to end in one buffer, a step over the whole
model is one kernel call on one array per argument (``pywd.adamw(p.buffer, g.buffer, ...)``),
a gradient all-reduce is one message, and a shard of the model is a slice. The views are
ordinary ndarrays sharing that memory, so the rest of the code (layers, initialisers,
optimiser classes) uses them as it would separate arrays.
"""
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import memory

__all__ = ["FlatParams"]


class FlatParams:
    """``FlatParams(shapes, dtype=np.float32)``: zeros, one view per shape.

    ``.buffer`` is the 1-D array holding everything; ``.views[i]`` is parameter i, a
    C-contiguous view of ``buffer[offsets[i]:offsets[i] + sizes[i]]`` shaped ``shapes[i]``.
    Iterating or indexing a FlatParams gives the views, so every pywd optimiser accepts
    it as its params (and a FlatParams of gradients as its grads)::

        params = pywd.FlatParams([(256, 128), (256,)], np.float32)
        grads = params.zeros_like()
        opt = pywd.optim.AdamW(params, lr=1e-3)
        opt.step(grads)                        # one kernel call for the whole model
        pywd.adamw(params.buffer, grads.buffer, m, v, step=1, lr=1e-3)   # the same, by hand

    NumPy equivalent: ``np.concatenate([a.ravel() for a in arrays])`` with views taken back
    out of it. torch equivalent: ``torch.nn.utils.parameters_to_vector`` (a copy there; here
    the parameters live in the buffer).
    """

    def __init__(self, shapes: Iterable[Sequence[int] | int], dtype: Any = np.float32) -> None:
        self.shapes = [_shape(s, i) for i, s in enumerate(shapes)]
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}")
        self.sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.offsets = [int(x) for x in np.cumsum([0] + self.sizes[:-1])] if self.sizes else []
        self.buffer: npt.NDArray[Any] = memory.zeros(sum(self.sizes), self.dtype)
        self.views: list[npt.NDArray[Any]] = [
            self.buffer[o:o + n].reshape(s)
            for o, n, s in zip(self.offsets, self.sizes, self.shapes)]

    @classmethod
    def from_arrays(cls, arrays: Iterable[npt.ArrayLike], dtype: Any = None) -> "FlatParams":
        """A FlatParams holding copies of `arrays` (dtype: theirs, if they share one)."""
        values = [np.asarray(a) for a in arrays]
        if dtype is None:
            dtypes = {a.dtype for a in values}
            if len(dtypes) != 1:
                raise TypeError(f"arrays of several dtypes {sorted(map(str, dtypes))}: "
                                f"pass dtype=")
            dtype = dtypes.pop()
        flat = cls([a.shape for a in values], dtype)
        for view, a in zip(flat.views, values):
            view[...] = a
        return flat

    def zeros_like(self) -> "FlatParams":
        """Another arena of the same layout, zero (for gradients or optimiser state)."""
        return FlatParams(self.shapes, self.dtype)

    def __len__(self) -> int:
        return len(self.views)

    def __iter__(self) -> Iterator[npt.NDArray[Any]]:
        return iter(self.views)

    def __getitem__(self, i: int) -> npt.NDArray[Any]:
        return self.views[i]

    def __repr__(self) -> str:
        return (f"pywd.FlatParams({len(self.views)} parameters, {self.buffer.size} elements, "
                f"{self.dtype})")


def _shape(shape: Sequence[int] | int, i: int) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
               for d in dims):
        raise ValueError(f"shapes[{i}] must be a tuple of ints >= 0, got {shape!r}")
    return tuple(int(d) for d in dims)
