"""Adafactor (torch.optim.Adafactor)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _kernels
from .._kernels import adafactor
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params

FACTORS = ("row_var", "col_var")


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018): ``torch.optim.Adafactor``, plus ``decay=``.

    torch's constructor, defaults (``lr=1e-2``, ``beta2_decay=-0.8``, ``eps=(None, 1e-3)``,
    ``d=1.0``, ``weight_decay=0.0`` decoupled with the unadjusted lr) and state: per
    parameter a ``step`` counter (an int; torch's is a float tensor), and ``row_var`` and
    ``col_var`` (the second moment's row and column factors, shaped as the parameter with
    its last, resp. second-to-last, axis 1) for a parameter of 2 or more dims, or
    ``variance`` (like the parameter) for the others. The kernel is :func:`pywd.adafactor`,
    one call for the factored parameters and the others together.

    Params are float32 or float64 (16-bit storage is refused: no ``rounding``,
    ``state_dtype`` or ``kahan_sum``); one of 3 or more dims must be C-contiguous.

    Equation (per parameter, step t): ``alpha = max(eps2, rms(w)) * min(lr, 1/sqrt(t))``;
    the factors lerp toward the row and column means of ``g**2`` with weight
    ``t**beta2_decay``; ``v = row_var @ col_var / max(mean(row_var), eps1)``;
    ``u = g / sqrt(max(v, eps1**2))``; ``w *= 1 - lr*wd``;
    ``w -= alpha / max(1, rms(u)/d) * u``. NumPy equivalent: those lines per parameter.

    torch's ``foreach`` is accepted and ignored (see :class:`Optimizer`).
    """

    state_arrays = ("row_var", "col_var", "variance")
    state_counters = ("step",)
    state_shapes = {"row_var": "rows", "col_var": "cols"}
    optional_state = ("row_var", "col_var", "variance")
    nonnegative_state = ("row_var", "col_var", "variance")
    per_element = False             # its norms and factors are per tensor
    no_step_stats = "its factored passes are not the element-wise driver's (not yet)"

    def __init__(self, params: Params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False, decay_to: Any = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "beta2_decay", "eps", "d")

    def _check_group(self, group, dtype=None):
        if dtype is None:          # when the group is added: params Adafactor can update
            for i, p in enumerate(group["params"]):
                _kernels._adafactor_param(p, f"parameter {i} of param group "
                                             f"{len(self.param_groups)}")
        arrays = _empty(dtype)
        adafactor(arrays, arrays, None, None, arrays, step=1, **self._hyper(group))

    def _state_shape(self, name, param):
        factored = param.ndim >= 2
        if name in FACTORS:
            return _kernels._factor_shape(param.shape, self.state_shapes[name]) \
                if factored else None
        return None if factored else param.shape

    def _state_needed(self, group):
        return tuple((name, 0.0) for name in self.state_arrays)

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        options = {k: v for k, v in options.items() if k not in ("rounding", "rng")}
        return partial(adafactor, arrays, None, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
