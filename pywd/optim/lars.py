"""LARS (timm.optim.Lars; torch has none)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import lars
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class LARS(Optimizer):
    """LARS (You et al. 2017): timm's ``Lars`` (LARC clipping as ``trust_clip``), plus
    ``decay=``.

    timm's defaults (``lr=1.0``, ``momentum=0``, ``dampening=0``, ``weight_decay=0`` with
    ``decay="l2"``: LARS's rule, inside the trust ratio; ``nesterov=False``,
    ``trust_coeff=1e-3``, ``eps=1e-8``, ``trust_clip=False``, ``always_adapt=False``) and
    state (``momentum_buffer``, set to the first scaled gradient as torch's SGD does); the
    kernel is :func:`pywd.lars`.

    Equation: ``phi = trust_coeff*||w|| / (||g|| + wd*||w|| + eps)`` per tensor;
    ``g' = (g + wd*w)*phi``; then SGD momentum on ``g'``. NumPy equivalent: those lines per
    parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    per_element = False          # the trust ratio is per tensor
    no_step_stats = "its trust ratio's two passes are not the element-wise driver's (not yet)"
    table_row = "lars"  # its state arrays: pywd/_optimisers.py
    step_for_rounding = True

    def __init__(self, params: Params, lr: float = 1.0, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 trust_coeff: float = 1e-3, eps: float = 1e-8, trust_clip: bool = False,
                 always_adapt: bool = False, *, maximize: bool = False, decay: Decay = "l2",
                 max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "momentum", "dampening", "nesterov", "trust_coeff",
                         "eps", "trust_clip", "always_adapt")

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)          # validates the hyper-parameters only
        lars(arrays, arrays, arrays, **self._hyper(group))

    def _state_needed(self, group):
        return (("momentum_buffer", 0.0),) if group["momentum"] != 0 else ()

    def _run_keys(self, indices, counters, fresh):
        # a buffer made for this step: its first step sets it to the scaled gradient
        return [i in fresh for i in indices] if fresh else None

    def _kernel_call(self, group, arrays, key, options):
        return partial(lars, arrays, None, first_step=bool(key) and group["momentum"] != 0,
                       **options, **self._hyper(group))
