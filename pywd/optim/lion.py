"""Lion (Chen et al. 2023); torch has none."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import lion
from .._typing import Decay
from ._support import _betas, _empty, _hyper_of
from .optimizer import Optimizer, Params


class Lion(Optimizer):
    """Lion (Chen et al. 2023), with decoupled weight decay by default as in the paper
    (``decay=`` overrides). torch has no Lion; defaults follow the paper's code
    (``lr=1e-4``, ``betas=(0.9, 0.99)``). The kernel is :func:`pywd.lion`.

    Equation: ``w = w*(1 - lr*wd) - lr*sign(b1*m + (1-b1)*g)``; ``m = b2*m + (1-b2)*g``.
    NumPy equivalent: those lines per parameter (``np.sign``).

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "lion"  # its state arrays: pywd/_optimisers.py
    step_for_rounding = True

    def __init__(self, params: Params, lr: float = 1e-4,
                 betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0.0, *,
                 maximize: bool = False, decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False,
                 caution: bool = False,
                 norm_target: float | str | None = None,
                 decay_to: Any = None, rounding: str = "stochastic",
                 state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        beta1, beta2 = _betas(group)
        return dict(_hyper_of(group, "lr"), beta1=beta1, beta2=beta2)

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        lion(arrays, arrays, arrays, **self._hyper(group))

    def _state_needed(self, group):
        return (("exp_avg", 0.0),)

    def _kernel_call(self, group, arrays, key, options):
        return partial(lion, arrays, None, None, **options, **self._hyper(group))
