"""LAMB (timm.optim.Lamb; torch has none)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import lamb
from .._typing import Decay
from ._support import _empty, _moment_hyper
from .optimizer import Optimizer, Params


class Lamb(Optimizer):
    """LAMB (You et al. 2020): timm's ``Lamb`` (the NVIDIA FusedLAMB variant), plus
    ``decay=``.

    timm's defaults (``lr=1e-3``, ``bias_correction=True``, ``eps=1e-6``,
    ``weight_decay=0.01`` with ``decay="decoupled"``: LAMB's own rule, the decay inside the
    trust ratio; ``trust_clip=False``, ``always_adapt=False``) and state (``exp_avg``,
    ``exp_avg_sq``, a per-parameter ``step``: timm keeps one per group); the kernel is
    :func:`pywd.lamb`. timm's ``max_grad_norm=1.0`` (on by default there) is
    ``step(grads, max_grad_norm=1.0)`` here; its ``grad_averaging=False`` and ``caution``
    are not offered.

    Equation: Adam's direction ``r = m_hat / (sqrt(v_hat) + eps) + wd*w``;
    ``w -= lr * r * ||w|| / ||r||`` per tensor. NumPy equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    per_element = False          # the trust ratio is per tensor
    no_step_stats = "its trust ratio's two passes are not the element-wise driver's (not yet)"
    table_row = "lamb"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-3, bias_correction: bool = True,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.01, *, trust_clip: bool = False,
                 always_adapt: bool = False, maximize: bool = False,
                 decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    def _hyper(self, group):
        return dict(_moment_hyper(group), **{key: group[key] for key in (
            "bias_correction", "trust_clip", "always_adapt")})

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        lamb(arrays, arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("exp_avg", 0.0), ("exp_avg_sq", 0.0))

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(lamb, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
