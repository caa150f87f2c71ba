"""A step is all or nothing under an exception raised by a signal's
handler (KeyboardInterrupt from Ctrl-C, or a timer's). Two ways to hit every point of a
step: real timers (SIGALRM raising KeyboardInterrupt at random moments of a loop of
steps, many runs), and an exception injected at each Python line and call a step runs, one
at a time (sys.settrace: where a signal's handler can run). Either way, the params, the
state (counters included) and rounding_step afterwards are those of a whole number of
steps, and the exception still reaches the caller. The schedule-free classes' eval() and
train() swap every parameter or none, train_mode saying which."""
import gc
import signal
import sys
from functools import partial

import numpy as np
import pytest

import pywd
from helpers import same_state
from pywd import optim

CLASSES = [getattr(optim, name) for name in optim.__all__
           if name not in ("Optimizer", "param_groups_weight_decay")]
SHAPES = [(6, 5), (4, 4), (3, 2)]
pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


def grads(step, dtype=np.float64):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def make(cls, dtype=np.float64, groups=2):
    """cls over SHAPES: one group, or two with their own lr (two kernel calls)."""
    params = [np.ones(shape, dtype) for shape in SHAPES]
    split = ([{"params": params}] if groups == 1 else
             [{"params": params[:2]}, {"params": params[2:], "lr": 0.005}])
    pywd.seed(3)                    # the stochastic-rounding seed, in the state_dict
    return cls(split, lr=0.01), params


def snapshots(cls, steps, **options):
    """(params' bytes, state_dict) after 0, 1, ..., steps uninterrupted steps."""
    opt, params = make(cls, **options)
    out = [([p.tobytes() for p in params], opt.state_dict())]
    for n in range(steps):
        opt.step(grads(n, params[0].dtype))
        out.append(([p.tobytes() for p in params], opt.state_dict()))
    return out


def whole(opt, params, expected):
    """The number of whole steps opt and params hold (they must match one snapshot)."""
    n = opt.rounding_step
    assert n < len(expected), n
    saved, state = expected[n]
    assert [p.tobytes() for p in params] == saved, f"params are not those of {n} steps"
    assert same_state(opt.state_dict(), state), f"state is not that of {n} steps"
    return n


class Interrupt(BaseException):
    """What the injected handler raises (KeyboardInterrupt's kind: not an Exception)."""


def interrupted_at(action, event):
    """action() with Interrupt raised at its `event`-th Python call or line event (1-based),
    the garbage collector off (its callbacks would swallow it); whether it reached that
    event (then the Interrupt came out of it)."""
    count = 0

    def tracer(frame, kind, arg):
        nonlocal count
        count += 1
        if count == event:
            raise Interrupt
        return tracer

    gc.disable()
    sys.settrace(tracer)
    raised = False
    try:
        action()
    except Interrupt:
        raised = True
    finally:
        sys.settrace(None)
        gc.enable()
    assert raised == (count >= event)       # never swallowed, also when the step went on
    return raised


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_an_exception_at_any_line_of_a_step_leaves_a_whole_number_of_steps(cls, groups):
    """The first step (which creates the state) and a later one, interrupted at each of
    their Python events in turn (every fourth one past the first 200)."""
    expected = snapshots(cls, 3, groups=groups)
    for before in (0, 2):
        event, tried = 1, 0
        while True:
            opt, params = make(cls, groups=groups)
            for n in range(before):
                opt.step(grads(n))
            reached = interrupted_at(partial(opt.step, grads(before)), event)
            n = whole(opt, params, expected)
            assert n in (before, before + 1), (event, n)
            if not reached:                 # past the step's last event: it ran whole
                assert n == before + 1
                break
            tried += 1
            event += 1 if event < 200 else 4
        assert tried > 20                   # the step runs Python code to interrupt


@pytest.mark.parametrize("cls", [optim.AdamW, optim.Muon, optim.SGD],
                         ids=lambda c: c.__name__)
def test_an_exception_at_any_line_of_a_bfloat16_step_leaves_whole_steps(cls):
    """16-bit storage with stochastic rounding (Muon's apply pass set up before it writes):
    two groups, a later step, interrupted at each of its Python events in turn."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    dtype = np.dtype(ml_dtypes.bfloat16)
    expected = snapshots(cls, 2, dtype=dtype)
    event = 1
    while True:
        opt, params = make(cls, dtype=dtype)
        opt.step(grads(0, dtype))
        reached = interrupted_at(partial(opt.step, grads(1, dtype)), event)
        n = whole(opt, params, expected)
        if not reached:
            assert n == 2
            break
        assert n in (1, 2), (event, n)
        event += 1 if event < 200 else 4


def timed_run(opt, params, delay, steps, set_grads=None):
    """Steps until SIGALRM, after `delay` seconds, raises KeyboardInterrupt (or `steps`
    steps are done); whether it was interrupted."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, handler)
    gc.disable()                        # (a gc callback, hypothesis's, would swallow it)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, delay)
            for n in range(steps):
                if set_grads is None:
                    opt.step(grads(n))
                else:
                    set_grads(n)
                    opt.step()
            signal.setitimer(signal.ITIMER_REAL, 0)  # (its handler runs here if it fired)
        except KeyboardInterrupt:
            return True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.enable()
    return False


def loop_time(build, steps):
    """The best of three uninterrupted runs of the timed loop (what a timer races)."""
    import time
    times = []
    for _ in range(3):
        made = build()
        start = time.perf_counter()
        timed_run(*made[:2], 0, steps, *made[2:])     # (never fires: 0 disarms)
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("cls", [optim.AdamW, optim.SGD, optim.NAdam, optim.Muon],
                         ids=lambda c: c.__name__)
def test_real_timers_interrupting_steps_leave_whole_steps(cls, groups):
    steps = 40
    expected = snapshots(cls, steps, groups=groups)
    rng = np.random.default_rng(0)
    duration = loop_time(lambda: make(cls, groups=groups), steps)
    interrupted = 0
    for _ in range(60):
        opt, params = make(cls, groups=groups)
        interrupted += timed_run(opt, params, rng.uniform(1e-6, 0.6 * duration), steps)
        whole(opt, params, expected)
    assert interrupted > 20


@pytest.mark.parametrize("groups", [1, 2])
def test_real_timers_interrupting_pywd_torch_steps_leave_whole_steps(groups):
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    steps = 40

    def build():
        tensors = [torch.nn.Parameter(torch.ones(shape, dtype=torch.float64)) for shape in SHAPES]
        split = ([{"params": tensors}] if groups == 1 else
                 [{"params": tensors[:2]}, {"params": tensors[2:], "lr": 0.005}])
        pywd.seed(3)
        opt = pt.AdamW(split, lr=0.01)

        def set_grads(n):
            for p, g in zip(tensors, grads(n)):
                p.grad = torch.from_numpy(g)
        return opt, tensors, set_grads

    opt, tensors, set_grads = build()
    expected = [([p.detach().numpy().tobytes() for p in tensors], opt.pywd.state_dict())]
    for n in range(steps):
        set_grads(n)
        opt.step()
        expected.append(([p.detach().numpy().tobytes() for p in tensors],
                         opt.pywd.state_dict()))
    duration = loop_time(build, steps)
    rng = np.random.default_rng(1)
    interrupted = 0
    for _ in range(60):
        opt, tensors, set_grads = build()
        interrupted += timed_run(opt, tensors, rng.uniform(1e-6, 0.6 * duration), steps,
                                 set_grads)
        whole(opt.pywd, [p.detach().numpy() for p in tensors], expected)
    assert interrupted > 20


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
@pytest.mark.parametrize("cls", [optim.AdamWScheduleFree, optim.SGDScheduleFree],
                         ids=lambda c: c.__name__)
def test_a_schedule_free_swap_interrupted_anywhere_is_all_or_none(cls, dtype):
    """eval() (y to x) and train() (back), two groups, 16-bit params with their Kahan
    compensation too: every param is swapped or none is, and train_mode says which."""
    dtype = (np.dtype(pytest.importorskip("ml_dtypes").bfloat16) if dtype == "bfloat16"
             else np.dtype(dtype))

    def made():
        params = [np.ones(shape, dtype) for shape in SHAPES]
        pywd.seed(3)
        opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.005}], lr=0.01,
                  kahan_sum=dtype != np.float64)
        for n in range(2):
            opt.step(grads(n, dtype))
        return opt, params

    opt, params = made()
    trained = [p.tobytes() for p in params]
    opt.eval()
    averaged = [p.tobytes() for p in params]
    for mode, start, end in (("eval", trained, averaged), ("train", averaged, None)):
        event = 1
        while True:
            opt, params = made()
            if mode == "train":
                opt.eval()
            reached = interrupted_at(getattr(opt, mode), event)
            now = [p.tobytes() for p in params]
            modes = {g["train_mode"] for g in opt.param_groups}
            assert len(modes) == 1, event
            swapped = modes == {mode == "train"}
            assert now == ((end if end is not None else now) if swapped else start), event
            if not reached:
                assert swapped
                break
            event += 1


def test_a_pywd_torch_schedule_free_eval_interrupted_anywhere_is_all_or_none():
    """torch's groups show train_mode too: they flip with pywd's, in the same call."""
    torch = pytest.importorskip("torch")
    import pywd.torch as pt

    def made():
        tensors = [torch.nn.Parameter(torch.ones(shape, dtype=torch.float64))
                   for shape in SHAPES]
        opt = pt.AdamWScheduleFree([{"params": tensors[:2]},
                                    {"params": tensors[2:], "lr": 0.005}], lr=0.01)
        for n in range(2):
            for p, g in zip(tensors, grads(n)):
                p.grad = torch.from_numpy(g)
            opt.step()
        return opt, tensors

    opt, tensors = made()
    before = [p.detach().clone() for p in tensors]
    opt.eval()
    after = [p.detach().clone() for p in tensors]
    event = 1
    while True:
        opt, tensors = made()
        reached = interrupted_at(opt.eval, event)
        modes = {g["train_mode"] for g in opt.param_groups + opt.pywd.param_groups}
        assert len(modes) == 1, event
        expected = before if modes == {True} else after
        assert all(torch.equal(p, q) for p, q in zip(tensors, expected)), event
        if not reached:
            assert modes == {False}
            break
        event += 1
