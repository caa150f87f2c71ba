"""RMSprop (torch.optim.RMSprop)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator, _kernels
from .._kernels import rmsprop
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class RMSprop(Optimizer):
    """RMSprop: ``torch.optim.RMSprop`` (``alpha``, ``eps``, ``momentum``, ``centered``,
    ``maximize``; ``weight_decay`` as coupled L2 by default), plus ``decay=``. The kernel is
    :func:`pywd.rmsprop`.

    Equation: ``s = alpha*s + (1-alpha)*g**2``; ``w -= lr * g / (sqrt(s) + eps)`` (centered:
    ``sqrt(s - a**2)``, ``a`` the running mean of g). NumPy equivalent: those lines per
    parameter.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "rmsprop"  # its state arrays: pywd/_optimisers.py
    step_for_rounding = True
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False,
                 decay: Decay = "l2", max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "alpha", "eps", "momentum", "centered")

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        rmsprop(arrays, arrays, arrays, arrays, arrays, **self._hyper(group))
        if group.get("state_dtype") == "8bit" and group["centered"]:
            raise ValueError(_kernels.CENTERED_8BIT)

    def _state_needed(self, group):
        names = ("square_avg",) + (("momentum_buffer",) if group["momentum"] != 0 else ()) \
            + (("grad_avg",) if group["centered"] else ())
        return tuple((name, 0.0) for name in names)

    def _kernel_call(self, group, arrays, key, options):
        return partial(rmsprop, arrays, None, None, **options, **self._hyper(group))
