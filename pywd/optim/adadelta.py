"""Adadelta (torch.optim.Adadelta)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import adadelta
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): ``torch.optim.Adadelta``, plus ``decay=``.

    torch's constructor, defaults (``lr=1.0``, ``rho=0.9``, ``eps=1e-6``; ``weight_decay``
    acts as coupled L2, ``decay="l2"``) and state (``square_avg``, ``acc_delta``,
    per-parameter ``step``); the kernel is :func:`pywd.adadelta`.

    Equation: ``s = rho*s + (1-rho)*g**2``; ``d = sqrt(a + eps)/sqrt(s + eps) * g``;
    ``a = rho*a + (1-rho)*d**2``; ``w -= lr*d``. NumPy equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "adadelta"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)      # torch keeps it; here it also keys stochastic rounding

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False, decay: Decay = "l2",
                 max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "rho", "eps")

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        adadelta(arrays, arrays, arrays, arrays, **self._hyper(group))

    def _state_needed(self, group):
        return (("square_avg", 0.0), ("acc_delta", 0.0))

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(adadelta, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
