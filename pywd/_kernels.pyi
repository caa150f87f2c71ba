# Type stub of the compiled extension (pywd/_core/_kernels.pyx): what mypy and IDEs see.
from collections.abc import Callable, Sequence
from typing import Any, Literal, final

import numpy.typing as npt

from ._generator import Generator
from ._typing import ArrayIn, Arrays, Decay, Nonfinite, Rounding

Rng = int | Generator | None

NONFINITE_MODES: tuple[str, ...]
DECAY_MODES: tuple[str, ...]
ROUNDING_MODES: tuple[str, ...]
DT_F64_CODE: int
ANCHORS_IN_BATCH: object
COMPENSATION_IN_BATCH: object

@final
class StepResult:
    def __init__(self, applied: bool, grad_norm: float | None = None,
                 reason: str | None = None) -> None: ...
    @property
    def applied(self) -> bool: ...
    @property
    def grad_norm(self) -> float | None: ...
    @property
    def reason(self) -> str | None: ...
    def __bool__(self) -> bool: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def sgd(
    params: Arrays, grads: Arrays, momentum_buffers: Arrays | None = None, *, lr: float = 1e-3,
    momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    first_step: bool = False, nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def sgdw(
    params: Arrays, grads: Arrays, momentum_buffers: Arrays | None = None, *, lr: float = 1e-3,
    momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
    weight_decay: float = 0.0, decay: Decay = "decoupled", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    first_step: bool = False, nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def adam(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-8,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, amsgrad: bool = False,
    max_exp_avg_sqs: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def adamw(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-8,
    weight_decay: float = 0.01, decay: Decay = "decoupled", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, amsgrad: bool = False,
    max_exp_avg_sqs: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def rmsprop(
    params: Arrays, grads: Arrays, square_avgs: Arrays, momentum_buffers: Arrays | None = None,
    grad_avgs: Arrays | None = None, *, lr: float = 1e-2, alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, momentum: float = 0.0,
    centered: bool = False, maximize: bool = False, nonfinite: Nonfinite = "propagate",
    grad_scale: float = 1.0, max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def adagrad(
    params: Arrays, grads: Arrays, state_sums: Arrays, *, step: int, lr: float = 1e-2,
    lr_decay: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0,
    decay: Decay = "l2", max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False, nonfinite: Nonfinite = "propagate",
    grad_scale: float = 1.0, max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def lion(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, *, lr: float = 1e-4, beta1: float = 0.9,
    beta2: float = 0.99,
    betas: tuple[float, float] | None = None, weight_decay: float = 0.0,
    decay: Decay = "decoupled",
    max_lr: float | None = None, cautious_decay: bool = False, decay_to: Arrays | None = None,
    maximize: bool = False, nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def adamax(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_infs: Arrays, *, step: int,
    lr: float = 2e-3, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-8,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def radam(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-8,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def adadelta(
    params: Arrays, grads: Arrays, square_avgs: Arrays, acc_deltas: Arrays, *,
    lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
    decay: Decay = "l2", max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def nadam(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    mu_product: float | None = None, lr: float = 2e-3, beta1: float = 0.9,
    beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-8,
    momentum_decay: float = 4e-3,
    weight_decay: float = 0.0, decay: Decay = "l2", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def rprop(
    params: Arrays, grads: Arrays, prevs: Arrays, step_sizes: Arrays, *, lr: float = 1e-2,
    etaminus: float = 0.5, etaplus: float = 1.2, step_size_min: float = 1e-6,
    step_size_max: float = 50.0, weight_decay: float = 0.0, decay: Decay = "l2",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def asgd(
    params: Arrays, grads: Arrays, axs: Arrays, *, step: int, lr: float = 1e-2,
    lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6, eta: float | None = None,
    mu: float | None = None, weight_decay: float = 0.0, decay: Decay = "l2",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def lamb(
    params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None, eps: float = 1e-6,
    weight_decay: float = 0.01, decay: Decay = "decoupled", bias_correction: bool = True,
    trust_clip: bool = False, always_adapt: bool = False, max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def lars(
    params: Arrays, grads: Arrays, momentum_buffers: Arrays | None = None, *,
    lr: float = 1.0, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
    trust_coeff: float = 1e-3, eps: float = 1e-8, trust_clip: bool = False,
    always_adapt: bool = False, weight_decay: float = 0.0, decay: Decay = "l2",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False, first_step: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    step: int | None = None, rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def decay(params: Arrays, *, lr: float, weight_decay: float, decay: Decay = "decoupled",
          max_lr: float | None = None, decay_to: Arrays | None = None,
          step: int | None = None, rounding: Rounding = "stochastic",
          rng: Rng = None, compensation: Arrays | None = None) -> None: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def adamw_schedulefree(
    params: Arrays, grads: Arrays, zs: Arrays, exp_avg_sqs: Arrays, *, step: int,
    average_weight: float, lr: float = 0.0025, beta1: float = 0.9, beta2: float = 0.999,
    betas: tuple[float, float] | None = None,
    eps: float = 1e-8, weight_decay: float = 0.0, decay: Decay = "decoupled",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
def sgd_schedulefree(
    params: Arrays, grads: Arrays, zs: Arrays, *, average_weight: float, lr: float = 1.0,
    momentum: float = 0.9, weight_decay: float = 0.0, decay: Decay = "l2",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None, step: int | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...
MUON_COEFFICIENTS: tuple[float, float, float]
def muon(
    params: Arrays, grads: Arrays, momentum_buffers: Arrays, *, lr: float = 1e-3,
    weight_decay: float = 0.1, momentum: float = 0.95, nesterov: bool = True,
    ns_coefficients: tuple[float, float, float] = ..., eps: float = 1e-7,
    ns_steps: int = 5, adjust_lr_fn: str | None = None, decay: Decay = "decoupled",
    max_lr: float | None = None, cautious_decay: bool = False,
    decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None, step: int | None = None,
    rounding: Rounding = "stochastic", rng: Rng = None,
    compensation: Arrays | None = None,
) -> StepResult: ...

# private: used by pywd's Python modules
def nadam_mu(beta1: float, momentum_decay: float, step: float) -> float: ...
def asgd_schedule(lr: float, lambd: float, alpha: float, t0: float,
                  steps: float) -> tuple[float, float]: ...
def _check_arrays(params: Any, name: str = "params", lowp: bool = False) -> None: ...
class _Batch:
    def _subset(self, positions: Sequence[int], ops: tuple[int, ...],
                absent_ok: bool = False) -> _Batch: ...
    def _partition(
        self, positions: Sequence[int], ops: tuple[int, ...],
        keys: Sequence[int] | None = None,
    ) -> list[tuple[tuple[int, ...], Any, Sequence[int]]]: ...

def adafactor(
    params: Arrays, grads: Arrays, row_vars: Arrays | Sequence[Any] | None,
    col_vars: Arrays | Sequence[Any] | None, variances: Arrays | Sequence[Any] | None, *,
    step: int, lr: float = 1e-2, beta2_decay: float = -0.8,
    eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
    weight_decay: float = 0.0, decay: Decay = "decoupled", max_lr: float | None = None,
    cautious_decay: bool = False, decay_to: Arrays | None = None, maximize: bool = False,
    nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
    max_grad_norm: float | None = None,
) -> StepResult: ...
def _adafactor_param(p: Any, where: str) -> None: ...
def _factor_shape(shape: tuple[int, ...], rule: str) -> tuple[int, ...]: ...

def _check_step(
    params: Sequence[Any], grads: Sequence[Any],
    states: Sequence[tuple[str, Sequence[Any], bool, str | None]] = (),
    nonfinite: str = "propagate",
    grad_scale: float = 1.0, max_grad_norm: float | None = None,
) -> tuple[StepResult, float, _Batch]: ...
def _columns(dicts: list[Any], names: Sequence[str],
             optional: Sequence[str] = ()) -> dict[str, list[Any]]: ...
def _advance(dicts: list[Any], name: str, limit: int,
             write: bool = True) -> tuple[list[Any], int]: ...
def _restore(dicts: list[Any], name: str, values: list[Any]) -> None: ...
def _commit(calls: list[Callable[[], Any]], counters: list[tuple[list[Any], str]],
            scalars: list[tuple[list[Any], str, list[Any]]], optimizer: Any, state: Any,
            created: list[tuple[int, str | None]], limit: int,
            count_skip: bool) -> BaseException | None: ...
def _drop_created(state: Any, created: list[tuple[int, str | None]]) -> None: ...
def _swap(swaps: list[tuple[Any, Any, float, Any]], groups: list[Any], train: bool) -> None: ...
def _count_none(seq: list[Any]) -> int: ...
def _sum_of_squares(arrays: Sequence[Any], scale: float = 1.0) -> float: ...
def _as_view(obj: ArrayIn, where: str = "tensor") -> npt.NDArray[Any]: ...
def _fill(
    tensor: npt.NDArray[Any], kind: Literal["constant", "uniform", "normal", "trunc_normal"],
    seed: int, position: int, offset: int, a: float, b: float = 0.0, c: float = 0.0,
    d: float = 0.0,
) -> None: ...
def _philox(counter: Sequence[int], key: Sequence[int]) -> tuple[int, int, int, int]: ...
def _openmp_enabled() -> bool: ...
def _isa() -> str: ...
def _compile_flags() -> str: ...
def _probe(kind: str, dst: npt.NDArray[Any], src: npt.NDArray[Any]) -> None: ...
