"""AdEMAMix (Pagliardini et al. 2024; bitsandbytes' and pytorch-optimizer's AdEMAMix)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import ademamix
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class AdEMAMix(Optimizer):
    """AdEMAMix (Pagliardini, Ablin & Grangier 2024): Adam plus a slow EMA of the gradient
    (``beta3``, weighted by ``alpha``), with the paper's warm-ups of both, plus ``decay=``.

    The paper's (and bitsandbytes') constructor and defaults: ``betas=(0.9, 0.999, 0.9999)``,
    ``alpha=5``, warm-up lengths ``t_alpha`` and ``t_beta3`` (None: none), and decoupled
    ``weight_decay=0.01`` as AdamW's; state ``exp_avg``, ``exp_avg_sq``, ``exp_avg_slow``
    (pytorch-optimizer's names) and a per-parameter ``step``; the kernel is
    :func:`pywd.ademamix`.

    Equation: ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g**2``; ``s = b3*s + (1-b3)*g``;
    ``w -= lr * (m/(1-b1**t) + alpha*s) / (sqrt(v)/sqrt(1-b2**t) + eps)``, after
    ``w *= 1 - lr*wd`` ("decoupled"). NumPy equivalent: those lines per parameter.
    """

    table_row = "ademamix"  # its state arrays: pywd/_optimisers.py
    state_counters = ("step",)

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float, float] = (0.9, 0.999, 0.9999), alpha: float = 5.0,
                 t_alpha: float | None = None, t_beta3: float | None = None, eps: float = 1e-8,
                 weight_decay: float = 0.01, *, maximize: bool = False,
                 decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False, caution: bool = False,
                 norm_target: float | str | None = None, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None, kahan_sum: bool = False,
                 rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return dict(_hyper_of(group, "lr", "alpha", "t_alpha", "t_beta3", "eps"),
                    betas=group["betas"])

    def _check_group(self, group, dtype=None):
        arrays = _empty(dtype)
        ademamix(arrays, arrays, arrays, arrays, arrays, step=1, **self._hyper(group))

    def _state_needed(self, group):
        return tuple((name, 0.0) for name in self.state_arrays)

    def _run_keys(self, indices, counters, fresh):
        return counters["step"]         # steps taken so far: this one is key + 1

    def _kernel_call(self, group, arrays, key, options):
        return partial(ademamix, arrays, None, None, None, None, step=key + 1, **options,
                       **self._hyper(group))
