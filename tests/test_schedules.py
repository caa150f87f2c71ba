"""pywd.schedules: closed forms (optax's definitions), one_cycle against torch's OneCycleLR
(when torch is installed), and bad input."""
import math

import pytest

from pywd import schedules


def test_constant_and_linear():
    assert schedules.constant(0.3)(0) == schedules.constant(0.3)(10**9) == 0.3
    s = schedules.linear(1.0, 0.0, transition_steps=10, transition_begin=5)
    assert [s(t) for t in (0, 5, 10, 15, 100)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    assert schedules.linear(2.0, 0.0, 0)(7) == 2.0          # no transition: init_value


@pytest.mark.parametrize("alpha, exponent", [(0.0, 1.0), (0.1, 1.0), (0.2, 2.0)])
def test_cosine_is_optaxs_decay(alpha, exponent):
    s = schedules.cosine(2.0, decay_steps=100, alpha=alpha, exponent=exponent)
    for t in (0, 1, 37, 50, 99, 100, 250):
        c = 0.5 * (1 + math.cos(math.pi * min(t, 100) / 100))
        assert s(t) == pytest.approx(2.0 * ((1 - alpha) * c ** exponent + alpha), rel=1e-15)
    assert s(0) == 2.0 and s(100) == pytest.approx(2.0 * alpha, abs=1e-15)


def test_warmup_cosine_counts_the_warmup_in_decay_steps():
    s = schedules.warmup_cosine(0.0, 1.0, warmup_steps=10, decay_steps=110, end_value=0.1)
    assert s(0) == 0.0 and s(5) == 0.5 and s(10) == 1.0
    assert s(60) == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-15)   # half-way down the cosine
    assert s(110) == pytest.approx(0.1, rel=1e-15) and s(500) == pytest.approx(0.1)


def test_join_gives_each_schedule_its_own_steps():
    s = schedules.join([schedules.constant(1.0), schedules.linear(0.0, 1.0, 10),
                        lambda t: 100.0 + t], [3, 8])
    assert [s(t) for t in (0, 2, 3, 7, 8, 9)] == [1.0, 1.0, 0.0, 0.4, 100.0, 101.0]


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_endpoints(three_phase, anneal):
    s = schedules.one_cycle(100, max_lr=0.1, anneal=anneal, three_phase=three_phase)
    assert s(0) == pytest.approx(0.1 / 25, rel=1e-15)
    assert s(29) == pytest.approx(0.1, rel=1e-15)              # pct_start * 100 - 1
    assert s(99) == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)
    with pytest.raises(ValueError, match="one_cycle has 100 steps, asked for step 101"):
        s(101)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("total, pct", [(1000, 0.3), (1237, 0.25)])
def test_one_cycle_equals_torchs_one_cycle_lr(three_phase, anneal, total, pct):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=total, pct_start=pct, anneal_strategy=anneal,
        three_phase=three_phase, div_factor=10.0, final_div_factor=100.0)
    ours = schedules.one_cycle(total, 0.1, pct, 10.0, 100.0, anneal, three_phase)
    for t in range(total):
        assert ours(t) == pytest.approx(sched.get_last_lr()[0], rel=1e-12, abs=0), t
        opt.step()
        sched.step()


@pytest.mark.parametrize("make, pattern", [
    (lambda: schedules.linear(1.0, 0.0, -1), "transition_steps must be an int >= 0"),
    (lambda: schedules.cosine(1.0, 0), "decay_steps must be an int >= 1"),
    (lambda: schedules.cosine(math.nan, 10), "init_value must be a finite number"),
    (lambda: schedules.warmup_cosine(0.0, 1.0, 10, 10), "decay_steps .* counts the warmup"),
    (lambda: schedules.one_cycle(100, 0.1, pct_start=1.0), r"pct_start must be in \(0, 1\)"),
    (lambda: schedules.one_cycle(100, 0.1, anneal="cosine"), "anneal must be"),
    (lambda: schedules.join([schedules.constant(1.0)], [3]), "one boundary fewer"),
    (lambda: schedules.join([schedules.constant(1.0)] * 3, [5, 5]), "boundaries must increase"),
    (lambda: schedules.constant(1.0)(-1), "step must be an int >= 0"),
    (lambda: schedules.constant(1.0)(1.5), "step must be an int >= 0"),
])
def test_bad_input_is_refused(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()
