"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import adam
from .._typing import Decay
from ._support import _empty, _moment_hyper
from .optimizer import Optimizer, Params


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): ``torch.optim.Adam``, plus ``decay=``.

    torch's constructor and defaults (``weight_decay`` acts as coupled L2, ``decay="l2"``;
    ``amsgrad``, ``maximize``); per-parameter step counters; the kernel is :func:`pywd.adam`.
    With ``decay="decoupled"`` (or torch's ``decoupled_weight_decay=True``) it is AdamW.

    Equation: ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g**2``;
    ``w -= lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps)`` (``g`` includes ``wd*w`` for
    "l2"). NumPy equivalent: those lines per parameter, about 20 passes over memory.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "adam"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decay: Decay = "l2", decoupled_weight_decay: bool = False,
                 max_lr: float | None = None, cautious_decay: bool = False, caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return dict(_moment_hyper(group), amsgrad=group["amsgrad"])

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        adam(arrays, arrays, arrays, arrays, step=1, max_exp_avg_sqs=arrays,
             **self._hyper(group))

    def _state_needed(self, group):
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
        return tuple((name, 0.0) for name in names)

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(adam, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): ``torch.optim.AdamW``: :class:`Adam` with
    ``weight_decay=0.01`` and ``decay="decoupled"`` by default.

    Equation: :class:`Adam`'s with ``w *= 1 - lr*wd`` before the update. NumPy equivalent:
    ``w *= 1 - lr*wd`` then Adam's lines.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False, *, maximize: bool = False,
                 decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False,
                 caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())
