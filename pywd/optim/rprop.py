"""Rprop (torch.optim.Rprop)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import rprop
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun 1993): ``torch.optim.Rprop``, plus weight decay.

    torch's constructor, defaults (``lr=1e-2``, ``etas=(0.5, 1.2)``,
    ``step_sizes=(1e-6, 50)``) and state (``prev``, ``step_size``, started at the group's
    lr, per-parameter ``step``); torch's Rprop has no weight decay: here ``weight_decay``
    (keyword, default 0) acts by ``decay=`` ("l2" by default: added to the gradient before
    its sign is taken). The kernel is :func:`pywd.rprop`.

    Equation: per element, ``s *= etaplus`` while ``g*prev > 0``, ``s *= etaminus`` (and
    ``g = 0``) on a flip, clipped to ``step_sizes``; ``w -= sign(g) * s``. NumPy
    equivalent: those lines per parameter with ``np.where``.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "rprop"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)      # torch keeps it; here it also keys stochastic rounding
    not_in_torch = ("weight_decay",)

    def __init__(self, params: Params, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *,
                 weight_decay: float = 0.0, maximize: bool = False, decay: Decay = "l2",
                 max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        etaminus, etaplus = _pair(group, "etas", "(etaminus, etaplus)")
        low, high = _pair(group, "step_sizes", "(min, max)")
        return dict(_hyper_of(group, "lr"), etaminus=etaminus, etaplus=etaplus,
                    step_size_min=low, step_size_max=high)

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        rprop(arrays, arrays, arrays, arrays, **self._hyper(group))

    def _state_needed(self, group):
        return (("prev", 0.0), ("step_size", group["lr"]))

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(rprop, arrays, None, None, None, step=key + 1, **options,
                       **self._hyper(group))


def _pair(group, name, meaning):
    value = group[name]
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair {meaning}, got {value!r}")
    return value
