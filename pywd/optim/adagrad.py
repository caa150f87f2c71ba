"""Adagrad (torch.optim.Adagrad)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import adagrad
from .._typing import Decay
from ._support import _check_nonnegative, _empty, _hyper_of
from .optimizer import Optimizer, Params


class Adagrad(Optimizer):
    """Adagrad: ``torch.optim.Adagrad`` (``lr_decay``, ``initial_accumulator_value``,
    ``eps``, ``maximize``; ``weight_decay`` as coupled L2 by default), plus ``decay=``.
    The kernel is :func:`pywd.adagrad`.

    Equation: ``s += g**2``; ``w -= clr * g / (sqrt(s) + eps)`` with
    ``clr = lr / (1 + (t-1)*lr_decay)``. NumPy equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "adagrad"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False, decay: Decay = "l2",
                 max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "lr_decay", "eps")

    def _check_group(self, group, dtype=None):
        _check_nonnegative(group, "initial_accumulator_value")
        arrays = _empty(dtype)
        adagrad(arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("sum", group["initial_accumulator_value"]),)

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(adagrad, arrays, None, None, step=key + 1, **options,
                       **self._hyper(group))
