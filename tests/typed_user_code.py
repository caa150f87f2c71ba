"""User code that calls every public function of pywd, as a type checker sees it:
tests/test_typing.py runs ``mypy --strict`` on this file against the installed package (its
py.typed marker and the extension's stub), and runs it."""
import io
from typing import Any

import numpy as np
import numpy.typing as npt

import pywd
from pywd import init, optim

F32 = npt.NDArray[np.float32]


def functional_steps() -> list[float]:
    w: F32 = np.ones(10, np.float32)
    g: F32 = np.full(10, 0.5, np.float32)
    m, v, vmax, b = (np.zeros_like(w) for _ in range(4))
    norms: list[float] = []
    result: pywd.StepResult = pywd.sgd(w, g, b, lr=0.1, momentum=0.9, first_step=True)
    assert result and result.applied
    pywd.sgd([w], [g], lr=0.1, weight_decay=1e-4, decay="l1", nonfinite="skip")
    pywd.adam(w, g, m, v, step=1, lr=1e-3, amsgrad=True, max_exp_avg_sqs=vmax)
    clipped = pywd.adamw(w, g, m, v, step=2, lr=1e-3, grad_scale=2.0, max_grad_norm=1.0)
    if clipped.grad_norm is not None:
        norms.append(clipped.grad_norm)
    pywd.rmsprop(w, g, v, b, m, lr=1e-2, momentum=0.9, centered=True, nonfinite="raise")
    pywd.adagrad(w, g, v, step=1, lr=1e-2, lr_decay=0.1)
    pywd.lion(w, g, m, lr=1e-4, weight_decay=0.1, decay="decoupled")
    pywd.adamax(w, g, m, vmax, step=1, lr=2e-3, weight_decay=1e-4)
    pywd.radam(w, g, m, vmax, step=1, lr=1e-3, weight_decay=1e-4, decay="decoupled")
    pywd.adadelta(w, g, m, vmax, lr=1.0, rho=0.9)
    pywd.nadam(w, g, m, vmax, step=1, mu_product=1.0, momentum_decay=4e-3)
    pywd.rprop(w, g, m, vmax, lr=0.01, etaminus=0.5, etaplus=1.2)
    pywd.asgd(w, g, m, step=1, lr=0.01, t0=100.0, eta=None, mu=1.0)
    pywd.lamb(w, g, m, vmax, step=1, lr=1e-3, weight_decay=0.01, trust_clip=True)
    pywd.lars(w, g, m, lr=0.1, momentum=0.9, weight_decay=1e-4, first_step=True)
    pywd.adamw_schedulefree(w, g, m, vmax, step=1, average_weight=1.0, weight_decay=0.01)
    pywd.sgd_schedulefree(w, g, m, average_weight=0.5, lr=0.1, step=2)
    matrix = [np.ones((4, 3)), np.ones((3, 5))]
    pywd.muon(matrix, [np.ones((4, 3)), np.ones((3, 5))], [np.zeros((4, 3)), np.zeros((3, 5))],
              lr=0.02, adjust_lr_fn="match_rms_adamw", ns_coefficients=(3.4445, -4.775, 2.0315))
    pywd.adafactor(matrix, [np.ones((4, 3)), np.ones((3, 5))],
                   [np.zeros((4, 1)), np.zeros((3, 1))], [np.zeros((1, 3)), np.zeros((1, 5))],
                   None, step=1, eps=(None, 1e-3), d=1.0)
    pywd.adafactor(w, g, None, None, m, step=2, beta2_decay=-0.8)
    pywd.decay(w, lr=0.1, weight_decay=1e-4, decay="independent")
    half = np.ones(10, np.float16)                   # 16-bit storage: rounded once per value
    pywd.sgd(half, g, lr=0.1, step=1, rounding="stochastic", rng=pywd.Generator(3))
    pywd.adamw(half, g, m, v, step=1, lr=1e-3, rounding="nearest",
               compensation=np.zeros(10, np.float16))
    pywd.decay(half, lr=0.1, weight_decay=1e-4, step=2, rng=3)
    return norms


def optimisers() -> int:
    params: list[npt.NDArray[np.float64]] = [np.zeros((3, 4)), np.zeros(4)]
    grads = [np.ones((3, 4)), None]
    groups: list[dict[str, Any]] = [{"params": params[:1], "lr": 0.01}, {"params": params[1:]}]
    opts: list[optim.Optimizer] = [
        optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
        optim.SGDW(groups, lr=0.1),
        optim.Adam(params, betas=(0.9, 0.99), amsgrad=True),
        optim.AdamW(params, weight_decay=0.05),
        optim.RMSprop(params, centered=True),
        optim.Adagrad(params, lr_decay=0.01),
        optim.Lion(params, decay="l1"),
        optim.Adamax(params, betas=(0.9, 0.99)),
        optim.RAdam(params, decoupled_weight_decay=True),
        optim.Adadelta(params, rho=0.95),
        optim.NAdam(params, decoupled_weight_decay=True),
        optim.Rprop(params, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)),
        optim.ASGD(params, lambd=1e-4, t0=1e3),
        optim.Lamb(params, always_adapt=True),
        optim.LARS(params, lr=0.1, momentum=0.9, weight_decay=1e-4, trust_clip=True),
        optim.AdamWScheduleFree(params, warmup_steps=100, weight_decay=0.01),
        optim.SGDScheduleFree(params, lr=0.5, momentum=0.95),
        optim.Adafactor(params, lr=0.01, eps=(None, 1e-3), weight_decay=0.01),
    ]
    for opt in opts:
        opt.step(grads, nonfinite="skip", max_grad_norm=10.0)
        buf = io.BytesIO()
        state: dict[str, Any] = opt.state_dict()   # (numpy's stub types savez's **kwargs
        np.savez(buf, **state)                      # with its allow_pickle flag's bool)
        buf.seek(0)
        opt.load_state_dict(np.load(buf))
        opt.add_param_group({"params": [np.zeros(2)]})
    half = [np.ones(4, np.float16)]
    low = optim.AdamW(half, state_dtype="float32", kahan_sum=True, rng=1)
    low.step([np.ones(4, np.float32)])
    assert low.rounding_step == 1 and low.rounding_seed == 1
    w = np.ones(3)
    with_closure = optim.AdamW([("w", w)], fused=True, foreach=None)
    loss: float = with_closure.step(lambda: (float(w @ w), {"w": 2 * w}))
    repr(with_closure)
    optim.Muon([np.ones((4, 3))], lr=0.02, ns_steps=5).step([np.ones((4, 3))])
    averaged = optim.SGDScheduleFree([np.ones(3)])
    averaged.step([np.ones(3)])
    averaged.eval()                                 # the params hold x, to evaluate with
    averaged.train()
    return sum(opt.skipped_steps for opt in opts) + int(loss)


def flat_model() -> float:
    placed = pywd.zeros((3, 4), np.float32) + pywd.empty(4) + pywd.empty_like(np.ones(3))[0]
    placed += pywd.zeros_like(placed, order="F", dtype=np.float32)
    params = pywd.FlatParams([(3, 4), (4,)], np.float32)
    grads = params.zeros_like()
    grads.buffer[...] = 1.0
    optim.SGD(params, lr=0.1).step(grads)
    copy = pywd.FlatParams.from_arrays([np.ones(3), np.zeros((2, 2))])
    return float(params.buffer.sum() + copy.views[0].sum() + placed.sum()) + len(params)


def initialisers() -> float:
    gen = pywd.Generator(seed=7, position=0)
    pywd.seed(0)
    assert pywd.default_generator().seed == 0
    w: F32 = np.empty((8, 6), np.float32)
    conv = np.empty((4, 2, 3, 3))
    init.uniform_(w, -1.0, 1.0, rng=gen)
    init.normal_(w, std=0.02, rng=1, offset=0)
    init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
    init.constant_(w, 0.5)
    init.zeros_(w)
    init.ones_(w)
    init.eye_(w, gain=2.0)
    init.dirac_(conv, groups=2)
    init.xavier_uniform_(w, gain=init.calculate_gain("tanh"))
    init.xavier_normal_(w, layout="keras")
    init.kaiming_uniform_(w, a=0.1, mode="fan_out")
    init.kaiming_normal_(conv, nonlinearity="relu")
    init.lecun_uniform_(w)
    init.lecun_normal_(w)
    init.variance_scaling_(w, 2.0, "fan_avg", "uniform")
    init.orthogonal_(w, rng=gen)
    init.sparse_(w, 0.5)
    init.martens_sparse_(w, nonzeros=3)
    fan_in, fan_out = init.compute_fans(conv.shape)
    return float(w.sum()) + fan_in + fan_out + gen.position


def runtime() -> int:
    pywd.set_num_threads(pywd.get_num_threads())
    pywd.show_config(file=io.StringIO())
    return len(pywd.__version__)


if __name__ == "__main__":
    print(functional_steps(), optimisers(), flat_model(), initialisers(), runtime())
