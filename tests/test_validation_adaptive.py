"""Bad input to the adaptive optimisers' functions: a clear TypeError/ValueError naming the
argument (and list index), before any array is modified."""
import numpy as np
import pytest

import pywd
from helpers import snapshot

N = 50


def arrays(count, n=N, size=5, dtype=np.float32):
    rng = np.random.default_rng(0)
    return [[np.abs(rng.standard_normal(size)).astype(dtype) for _ in range(n)]
            for _ in range(count)]


def adam_call(lists, **kw):
    p, g, m, v, vmax = lists
    hyper = dict(step=3, lr=1e-3, amsgrad=True, max_exp_avg_sqs=vmax)
    hyper.update(kw)
    pywd.adam(p, g, m, v, **hyper)


def rmsprop_call(lists, **kw):
    p, g, s, b, a = lists
    hyper = dict(lr=1e-2, momentum=0.9, centered=True)
    hyper.update(kw)
    pywd.rmsprop(p, g, s, b, a, **hyper)


def adagrad_call(lists, **kw):
    hyper = dict(step=2, lr=1e-2)
    hyper.update(kw)
    pywd.adagrad(*lists[:3], **hyper)


def lion_call(lists, **kw):
    hyper = dict(lr=1e-4)
    hyper.update(kw)
    pywd.lion(*lists[:3], **hyper)


CALLS = {"adam": adam_call, "rmsprop": rmsprop_call, "adagrad": adagrad_call, "lion": lion_call}

HYPER_CASES = [
    ("adam", dict(step=0), ValueError, r"step must be an int >= 1, got 0"),
    ("adam", dict(step=1.0), TypeError, r"step must be an int >= 1, got float"),
    ("adam", dict(step=True), TypeError, r"step must be an int >= 1, got bool"),
    ("adam", dict(beta1=1.0), ValueError, r"beta1 must be a finite number in \[0, 1\), got 1.0"),
    ("adam", dict(beta2=-0.1), ValueError, r"beta2 must be a finite number in \[0, 1\)"),
    ("adam", dict(beta2=float("nan")), ValueError, r"beta2 must be a finite number"),
    ("adam", dict(eps=-1e-8), ValueError, r"eps must be a finite number >= 0"),
    ("adam", dict(lr=-1.0), ValueError, r"lr must be a finite number >= 0"),
    ("adam", dict(amsgrad="yes"), TypeError, r"amsgrad must be a bool"),
    ("adam", dict(max_exp_avg_sqs=None), ValueError,
     r"max_exp_avg_sqs are required when amsgrad=True"),
    ("adam", dict(weight_decay=2.0, lr=1.0, decay="decoupled"), ValueError,
     r"1 - lr\*weight_decay, which must be >= 0"),
    ("rmsprop", dict(alpha=1.5), ValueError, r"alpha must be a finite number in \[0, 1\]"),
    ("rmsprop", dict(eps=-1.0), ValueError, r"eps must be a finite number >= 0"),
    ("rmsprop", dict(momentum=-0.9), ValueError, r"momentum must be a finite number >= 0"),
    ("rmsprop", dict(centered=1), TypeError, r"centered must be a bool"),
    ("adagrad", dict(step=-3), ValueError, r"step must be an int >= 1"),
    ("adagrad", dict(lr_decay=-0.1), ValueError, r"lr_decay must be a finite number >= 0"),
    ("adagrad", dict(decay="L1"), ValueError, r"decay must be one of"),
    ("lion", dict(beta1=1.0), ValueError, r"beta1 must be a finite number in \[0, 1\)"),
    ("lion", dict(weight_decay=-1.0), ValueError, r"weight_decay must be a finite number >= 0"),
]


@pytest.mark.parametrize("name, override, error, pattern", HYPER_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in HYPER_CASES])
def test_bad_hyper_parameter_is_refused_and_nothing_changes(name, override, error, pattern):
    lists = arrays(5)
    before = [snapshot(lst) for lst in lists]
    with pytest.raises(error, match=pattern):
        CALLS[name](lists, **override)
    assert [snapshot(lst) for lst in lists] == before


def _alias(lists, k_from, k_to):
    lists[k_to][-1] = lists[k_from][-1]
    return lists


ARRAY_CASES = [
    ("adam-m-is-v", "adam", lambda l: _alias(l, 2, 3), ValueError,
     r"exp_avgs\[49\] and exp_avg_sqs\[49\] overlap in memory"),
    ("adam-vmax-is-param", "adam", lambda l: _alias(l, 0, 4), ValueError,
     r"params\[49\] and max_exp_avg_sqs\[49\] overlap in memory"),
    ("adam-state-dtype", "adam", lambda l: l[3].__setitem__(-1, l[3][-1].astype(np.float64)) or l,
     TypeError, r"exp_avg_sqs\[49\]: expected float32 like params\[0\], got float64"),
    ("adam-state-short", "adam", lambda l: (l[2].pop(), l)[1], ValueError,
     r"exp_avgs has 49 arrays but params has 50"),
    ("rmsprop-grad-avg-is-buffer", "rmsprop", lambda l: _alias(l, 3, 4), ValueError,
     r"momentum_buffers\[49\] and grad_avgs\[49\] overlap"),
    ("rmsprop-square-avg-read-only", "rmsprop",
     lambda l: (l[2][-1].setflags(write=False), l)[1], ValueError,
     r"square_avgs\[49\]: is read-only"),
    ("adagrad-sum-shape", "adagrad", lambda l: l[2].__setitem__(-1, np.ones(6, np.float32)) or l,
     ValueError, r"state_sums\[49\]: shape \(6,\) does not match params\[49\] shape \(5,\)"),
    ("lion-m-strided", "lion", lambda l: l[2].__setitem__(-1, np.ones(10, np.float32)[::2]) or l,
     ValueError, r"exp_avgs\[49\]: must be C- or F-contiguous"),
]


@pytest.mark.parametrize("name, mutate, error, pattern", [c[1:] for c in ARRAY_CASES],
                         ids=[c[0] for c in ARRAY_CASES])
def test_bad_state_array_is_refused_and_nothing_changes(name, mutate, error, pattern):
    lists = mutate(arrays(5))
    before = [snapshot(lst) for lst in lists]
    with pytest.raises(error, match=pattern):
        CALLS[name](lists)
    assert [snapshot(lst) for lst in lists] == before


def test_missing_optional_state_is_refused():
    p, g, s, b, a = arrays(5, n=2)
    with pytest.raises(ValueError, match=r"momentum_buffers are required when momentum > 0"):
        pywd.rmsprop(p, g, s, None, a, lr=0.1, momentum=0.5, centered=True)
    with pytest.raises(ValueError, match=r"grad_avgs are required when centered=True"):
        pywd.rmsprop(p, g, s, b, None, lr=0.1, momentum=0.5, centered=True)
