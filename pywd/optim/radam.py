"""RAdam (torch.optim.RAdam)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import radam
from .._typing import Decay
from ._support import _empty, _moment_hyper
from .optimizer import Optimizer, Params


class RAdam(Optimizer):
    """RAdam (Liu et al. 2020): ``torch.optim.RAdam``, plus ``decay=``.

    torch's constructor, defaults (``lr=1e-3``; ``weight_decay`` acts as coupled L2,
    ``decay="l2"``, or decoupled with ``decoupled_weight_decay=True``) and state
    (``exp_avg``, ``exp_avg_sq``, per-parameter ``step``); the kernel is
    :func:`pywd.radam`.

    Equation: Adam's moments; while ``rho_t <= 5`` the step is ``lr * m/(1-b1**t)``
    (momentum SGD), after it Adam's step times the rectification ``rect(rho_t)``. NumPy
    equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "radam"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False, decay: Decay = "l2", max_lr: float | None = None,
                 cautious_decay: bool = False, caution: bool = False,
                 norm_target: float | str | None = None, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    _hyper = staticmethod(_moment_hyper)

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        radam(arrays, arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("exp_avg", 0.0), ("exp_avg_sq", 0.0))

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(radam, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
