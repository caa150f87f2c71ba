"""Types of pywd's public API, for type checkers (the package ships py.typed and a stub of
its extension). Every array argument takes an ndarray of float32 or float64, or an object
NumPy views without a copy (a CPU torch tensor: see ``SupportsArray``), or a list of them."""
from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypeVar, Union

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "SupportsArray", "ArrayIn", "Arrays", "OptionalArrays", "Decay",
           "Nonfinite", "TensorT"]


class SupportsArray(Protocol):
    """An object NumPy can view as an array, such as a CPU torch tensor."""

    def __array__(self) -> npt.NDArray[Any]: ...


FloatArray = npt.NDArray[np.floating[Any]]
ArrayIn = Union[FloatArray, SupportsArray]
Arrays = Union[ArrayIn, Sequence[ArrayIn]]               # one array, or one per parameter
OptionalArrays = Union[ArrayIn, Sequence[Union[ArrayIn, None]]]
TensorT = TypeVar("TensorT", bound=ArrayIn)             # init returns what it was given

Decay = Literal["l2", "decoupled", "independent", "corrected", "l1"]
Nonfinite = Literal["propagate", "skip", "raise"]
# how the values stored in bfloat16/float16 arrays are rounded
Rounding = Literal["stochastic", "nearest"]
