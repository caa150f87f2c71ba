"""Muon (torch.optim.Muon)."""
from __future__ import annotations

from functools import partial
from typing import Any

from .. import _generator
from .._kernels import MUON_COEFFICIENTS, muon
from .._typing import Decay
from ._support import _empty, _hyper_of
from .optimizer import Optimizer, Params


class Muon(Optimizer):
    """Muon (Jordan et al. 2024): ``torch.optim.Muon``, plus ``decay=``, for 2-D parameters.

    torch's constructor, defaults (``lr=1e-3``, ``weight_decay=0.1`` decoupled with the
    unadjusted lr, ``momentum=0.95``, ``nesterov=True``, torch's Newton-Schulz
    coefficients, ``eps=1e-7``, ``ns_steps=5``, ``adjust_lr_fn=None``: "original") and
    state (``momentum_buffer``); the kernel is :func:`pywd.muon`, which orthogonalises in
    float32 by BLAS where torch uses bfloat16.

    Muon is for the weight matrices of hidden layers; every parameter must be 2-D (anything
    else is refused, naming it). Give the rest (biases, gains, embeddings, the output
    layer) to another optimiser, as torch's documentation advises::

        matrices = [p for p in params if p.ndim == 2]
        others = [p for p in params if p.ndim != 2]
        opts = [pywd.optim.Muon(matrices, lr=0.02), pywd.optim.AdamW(others, lr=3e-4)]

    Equation: ``b = lerp(b, g, 1-m)``; ``u = lerp(g, b, m)``; ``w *= 1 - lr*wd``;
    ``w -= adjusted_lr * newton_schulz(u)``. NumPy equivalent: those lines per matrix, with
    ``@`` for the orthogonalisation's products.

    torch's ``foreach``, ``fused``, ``capturable`` and ``differentiable=False`` are accepted
    and ignored (see :class:`Optimizer`).
    """

    table_row = "muon"  # its state arrays: pywd/_optimisers.py
    per_element = False             # it orthogonalises whole matrices
    no_step_stats = "its orthogonalisation is not the element-wise driver's pass (not yet)"
    no_8bit_state = "its orthogonalisation reads the momentum as floats (not yet 8-bit)"
    not_in_torch = ("maximize",)
    step_for_rounding = True

    def __init__(self, params: Params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = MUON_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None, *,
                 maximize: bool = False, decay: Decay = "decoupled",
                 max_lr: float | None = None, cautious_decay: bool = False,
                 decay_to: Any = None, rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "lr", "momentum", "nesterov", "ns_coefficients", "eps",
                         "ns_steps", "adjust_lr_fn")

    def _check_group(self, group, dtype=None):
        if dtype is None:          # when the group is added: its params are matrices
            for i, p in enumerate(group["params"]):
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon orthogonalises matrices: parameter {i} of param group "
                        f"{len(self.param_groups)} has shape {p.shape} (give vectors and "
                        f"other arrays to another optimiser, AdamW say)")
        arrays = [] if dtype is None else [self._empty_matrix(dtype)]
        muon(arrays, arrays, arrays, **self._hyper(group))

    @staticmethod
    def _empty_matrix(dtype):
        return _empty(dtype)[0].reshape(0, 0)

    def _state_needed(self, group):
        return (("momentum_buffer", 0.0),)

    def _kernel_call(self, group, arrays, key, options):
        return partial(muon, arrays, None, None, **options, **self._hyper(group))
