"""ASGD (torch.optim.ASGD)."""
from __future__ import annotations

from functools import partial
import math
from typing import Any

from .. import _generator
from .._kernels import asgd, asgd_schedule
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky 1992): ``torch.optim.ASGD``, plus ``decay=``.

    torch's constructor, defaults (``lr=1e-2``, ``lambd=1e-4``, ``alpha=0.75``,
    ``t0=1e6``; ``weight_decay`` acts as coupled L2, ``decay="l2"``) and state (``ax``,
    the average of the weights to evaluate with; per-parameter ``step`` and the schedule's
    ``eta`` and ``mu``, kept in float64: torch keeps them in its default dtype, float32
    unless changed); the kernel is :func:`pywd.asgd`.

    Equation: ``w = w*(1 - lambd*eta) - eta*g``; ``ax += (w - ax)*mu``; after the step
    ``eta = lr / (1 + lambd*lr*t)**alpha`` and ``mu = 1/max(1, t - t0)`` (t: steps taken,
    lr: the group's current one). NumPy equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "asgd"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)
    state_scalars = {"eta": (0.0, math.inf), "mu": (0.0, 1.0)}

    def __init__(self, params: Params, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0, *,
                 maximize: bool = False, decay: Decay = "l2", max_lr: float | None = None,
                 cautious_decay: bool = False, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "lambd", "alpha", "t0")

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        asgd(arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("ax", 0.0),)

    def _initial_scalars(self, group):
        return {"eta": float(group["lr"]), "mu": 1.0}

    def _run_keys(self, indices, counters, fresh):
        # steps taken so far (this one is step + 1), and this step's eta and mu
        return list(zip(counters["step"], counters["eta"], counters["mu"]))

    def _advance_scalars(self, group, before):
        lr, lambd, alpha, t0 = (group[key] for key in ("lr", "lambd", "alpha", "t0"))
        after = [asgd_schedule(lr, lambd, alpha, t0, step + 1) for step in before["step"]]
        return {"eta": [eta for eta, _ in after], "mu": [mu for _, mu in after]}

    def _kernel_call(self, group, arrays, key, options):
        step, eta, mu = key
        return partial(asgd, arrays, None, None, step=step + 1, eta=eta, mu=mu, **options,
                       **self._hyper(group))
