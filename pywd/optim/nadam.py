"""NAdam (torch.optim.NAdam)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import nadam, nadam_mu
from .._typing import Decay
from ._support import _empty, _moment_hyper
from .optimizer import Optimizer, Params


class NAdam(Optimizer):
    """NAdam (Dozat 2016): ``torch.optim.NAdam``, plus ``decay=``.

    torch's constructor, defaults (``lr=2e-3``, ``momentum_decay=4e-3``; ``weight_decay``
    acts as coupled L2, ``decay="l2"``, or decoupled with ``decoupled_weight_decay=True``)
    and state (``exp_avg``, ``exp_avg_sq``, per-parameter ``step`` and ``mu_product``, the
    momentum schedule's product, kept in float64: torch keeps it in its default dtype,
    float32 unless changed); the kernel is :func:`pywd.nadam`.

    Equation: Adam's moments; ``mu_t = b1*(1 - 0.5*0.96**(t*momentum_decay))``;
    ``w -= lr*(1-mu_t)/(1-P_t) * g/d + lr*mu_{t+1}/(1-P_{t+1}) * m/d`` with
    ``d = sqrt(v/(1-b2**t)) + eps`` and ``P_t`` the product of the mu's through step t.
    NumPy equivalent: those lines per parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "nadam"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)
    state_scalars = {"mu_product": (0.0, 1.0)}

    def __init__(self, params: Params, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 decay: Decay = "l2", max_lr: float | None = None,
                 cautious_decay: bool = False, caution: bool = False,
                 norm_target: float | str | None = None, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    def _hyper(self, group):
        return dict(_moment_hyper(group), momentum_decay=group["momentum_decay"])

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        nadam(arrays, arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return (("exp_avg", 0.0), ("exp_avg_sq", 0.0))

    def _initial_scalars(self, group):
        return {"mu_product": 1.0}

    def _run_keys(self, indices, counters, fresh):
        # steps taken so far (this one is step + 1) and the schedule's product through them
        return list(zip(counters["step"], counters["mu_product"]))

    def _advance_scalars(self, group, before):
        beta1 = group["betas"][0]
        return {"mu_product": [product * nadam_mu(beta1, group["momentum_decay"], step + 1)
                               for step, product in zip(before["step"], before["mu_product"])]}

    def _kernel_call(self, group, arrays, key, options):
        step, mu_product = key
        return partial(nadam, arrays, None, None, None, step=step + 1, mu_product=mu_product,
                       **options, **self._hyper(group))

