"""SGD and SGDW: pywd.optim's SGD family (torch.optim.SGD)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import sgd
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``torch.optim.SGD``, plus ``decay=``.

    Same constructor and defaults as torch (``lr=1e-3``; ``weight_decay`` acts as coupled
    L2, ``decay="l2"``), and the same steps: the first momentum step sets the buffer to the
    gradient. ``decay`` chooses another decay mode (see :func:`pywd.sgd`).

    Example::

        opt = pywd.optim.SGD([w1, w2], lr=0.1, momentum=0.9, weight_decay=1e-4)
        opt.step([g1, g2])

    Equation, per parameter: ``b = momentum*b + (1-dampening)*(g + wd*w)``; ``w -= lr*b``.
    NumPy equivalent: ``for w, g, b in zip(params, grads, bufs): b *= momentum; b += g + wd*w;
    w -= lr*b``.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "sgd"  # its state arrays: pywd/_optimisers.py
    step_for_rounding = True

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, decay: Decay = "l2", max_lr: float | None = None,
                 cautious_decay: bool = False,
                 caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)          # validates the hyper-parameters only
        sgd(arrays, arrays, arrays, **self._hyper(group))

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "momentum", "dampening", "nesterov")

    def _state_needed(self, group):
        return (("momentum_buffer", 0.0),) if group["momentum"] != 0 else ()

    def _run_keys(self, indices, counters, fresh):
        # a buffer made for this step: torch's first step sets it to the gradient
        return [i in fresh for i in indices] if fresh else None

    def _kernel_call(self, group, arrays, key, options):
        return partial(sgd, arrays, None, first_step=bool(key) and group["momentum"] != 0,
                       **options, **self._hyper(group))


class SGDW(SGD):
    """SGD with decoupled weight decay (Loshchilov & Hutter): :class:`SGD` with
    ``decay="decoupled"``, so the weights shrink by ``1 - lr*weight_decay`` each step
    whatever the momentum.

    Equation: ``b = momentum*b + (1-dampening)*g``; ``w = w*(1 - lr*wd) - lr*b``. NumPy
    equivalent: ``w *= 1 - lr*wd; w -= lr*b`` after the buffer update. torch has no SGDW:
    ``torch.optim.SGD`` with ``weight_decay=0`` plus ``p.mul_(1 - lr*wd)`` before each step.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False,
                 caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())
