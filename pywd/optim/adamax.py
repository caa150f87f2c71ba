"""Adamax (torch.optim.Adamax)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import adamax
from .._typing import Decay
from ._support import _empty, _moment_hyper
from .optimizer import Optimizer, Params


class Adamax(Optimizer):
    """Adamax (Kingma & Ba 2015, section 7.1): ``torch.optim.Adamax``, plus ``decay=``.

    torch's constructor, defaults (``lr=2e-3``; ``weight_decay`` acts as coupled L2,
    ``decay="l2"``) and state (``exp_avg``, ``exp_inf``, per-parameter ``step``); the kernel
    is :func:`pywd.adamax`.

    Equation: ``m = b1*m + (1-b1)*g``; ``u = max(b2*u, |g| + eps)``;
    ``w -= lr/(1-b1**t) * m / u`` (``g`` includes ``wd*w`` for "l2"). NumPy equivalent:
    those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "adamax"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, maximize: bool = False, decay: Decay = "l2",
                 max_lr: float | None = None, cautious_decay: bool = False, caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    _hyper = staticmethod(_moment_hyper)

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        adamax(arrays, arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("exp_avg", 0.0), ("exp_inf", 0.0))

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(adamax, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
