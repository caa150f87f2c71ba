"""pywd.optim.SGD / SGDW: torch defaults, param groups, state_dict, step-wide validation,
and (if torch is installed) parity with torch.optim.SGD step for step."""
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from helpers import (DECAY_DEFAULTS, STORAGE_DEFAULTS, grads_for, model, run_steps, saved,
                     snapshot)
from pywd.optim import SGD, SGDW






def test_defaults_follow_torch():
    opt = SGD(model())
    assert opt.defaults == dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                                nesterov=False, maximize=False, decay="l2", caution=False, norm_target=None,
                                **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert SGDW(model()).defaults["decay"] == "decoupled"


def test_sgd_equals_functional_calls_with_first_step():
    params, ref = model(), model()
    bufs = [np.zeros_like(p) for p in ref]
    opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(1)
    for step in range(4):
        grads = grads_for(params, rng)
        opt.step(grads)
        pywd.sgd(ref, grads, bufs, lr=0.1, momentum=0.9, weight_decay=0.01, decay="l2",
                 first_step=step == 0)
        for a, b in zip(params, ref):
            assert a.tobytes() == b.tobytes()


def test_param_groups_have_their_own_hyper_parameters():
    w, bias = model(shapes=((5, 5), (5,)))
    w0, b0 = w.copy(), bias.copy()
    opt = SGDW([{"params": [w], "weight_decay": 0.1}, {"params": [bias], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[0]["lr"] == 0.1
    zero = [np.zeros_like(w), np.zeros_like(bias)]
    opt.step(zero)
    np.testing.assert_allclose(w, w0 * (1 - 0.1 * 0.1), rtol=1e-15)   # decayed
    np.testing.assert_array_equal(bias, b0)                          # no decay on biases


def test_none_grad_skips_its_parameter_and_mixed_dtypes_work():
    a, b = np.ones(3, np.float32), np.ones(4, np.float64)
    opt = SGD([a, b], lr=0.5, momentum=0.5)
    opt.step([None, np.ones(4)])
    np.testing.assert_array_equal(a, 1.0)
    np.testing.assert_array_equal(b, 0.5)
    opt.step([np.ones(3, np.float32), np.ones(4)])
    np.testing.assert_array_equal(a, 0.5)                            # a's first momentum step
    np.testing.assert_array_equal(b, 0.5 - 0.5 * 1.5)
    assert set(opt.state) == {0, 1}


def test_lr_can_be_changed_between_steps():
    (w,) = model(shapes=((3,),))
    w0 = w.copy()
    opt = SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = 0.0
    opt.step([np.ones(3)])
    np.testing.assert_array_equal(w, w0)


def test_bad_grad_in_a_later_group_leaves_every_array_untouched():
    a, b = model(shapes=((3,), (4,)))
    opt = SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.9)
    opt.step([np.ones(3), np.ones(4)])
    state_before = [opt.state[i]["momentum_buffer"].tobytes() for i in (0, 1)]
    before = snapshot([a, b])
    with pytest.raises(ValueError, match=r"grads\[1\]: shape \(5,\) does not match params\[1\]"):
        opt.step([np.ones(3), np.ones(5)])
    with pytest.raises(ValueError, match=r"params\[1\] and grads\[1\] overlap"):
        opt.step([np.ones(3), b])
    opt.param_groups[1]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0"):
        opt.step([np.ones(3), np.ones(4)])
    assert snapshot([a, b]) == before
    assert [opt.state[i]["momentum_buffer"].tobytes() for i in (0, 1)] == state_before


def test_constructor_refuses_bad_input():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    (w,) = model(shapes=((3,),))
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] overlap"):
        SGD([w, w])
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] overlap"):
        SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(ValueError, match=r"momentum must be a finite number >= 0"):
        SGD([w], momentum=-1.0)
    with pytest.raises(TypeError, match=r"params\[0\]: expected float32, float64, bfloat16 or "
                                        r"float16, got int64"):
        SGD([np.ones(3, np.int64)])
    with pytest.raises(ValueError, match=r"params\[0\]: is read-only"):
        ro = np.ones(3)
        ro.flags.writeable = False
        SGD([ro])
    with pytest.raises(ValueError, match="grads has 2 arrays but the optimizer has 1"):
        SGD([w]).step([np.ones(3), np.ones(3)])


# ------------------------------------------------------------------------ state_dict




def test_int_defaults_still_load_float_hyper_parameters():
    # torch users write momentum=0; a group's 0.9 must survive a round trip
    a, b = model(shapes=((3,), (2,)))
    opt = SGD([{"params": [a]}, {"params": [b], "momentum": 0.9}], lr=1, momentum=0)
    run_steps(opt, [a, b], 2, seed=0)
    fresh = SGD([{"params": [a.copy()]}, {"params": [b.copy()], "momentum": 0.5}], lr=1, momentum=0)
    fresh.load_state_dict(saved(opt))
    assert fresh.param_groups[1]["momentum"] == 0.9 and fresh.param_groups[0]["lr"] == 1.0


def test_state_dict_is_a_copy():
    params = model()
    opt = SGD(params, lr=0.1, momentum=0.9)
    run_steps(opt, params, 1, seed=0)
    sd = opt.state_dict()
    sd["state/0/momentum_buffer"][...] = 7.0
    assert not np.any(opt.state[0]["momentum_buffer"] == 7.0)


def trained():
    params = model()
    opt = SGD(params, lr=0.1, momentum=0.9)
    run_steps(opt, params, 2, seed=0)
    return opt, params


def corrupt(key, value):
    def edit(sd):
        sd = dict(sd)
        if value is None:
            del sd[key]
        else:
            sd[key] = value
        return sd
    return edit


LOAD_CASES = [
    ("wrong-optimizer", corrupt("optimizer", np.array("Adam")), ValueError,
     r"state_dict\['optimizer'\] must be 'SGD'"),
    ("no-format", corrupt("format", None), ValueError, r"state_dict\['format'\] must be"),
    ("state-shape", corrupt("state/1/momentum_buffer", np.zeros(4)), ValueError,
     r"state_dict\['state/1/momentum_buffer'\] is float64 \(4,\), but its parameter's state "
     r"is float64 \(3,\)"),
    ("state-dtype", corrupt("state/0/momentum_buffer", np.zeros((4, 3), np.float32)), ValueError,
     r"is float32 \(4, 3\), but its parameter's state is float64"),
    ("state-unknown-name", corrupt("state/0/exp_avg", np.zeros((4, 3))), ValueError,
     r"'state/0/exp_avg' is not state/<param index>/<one of \['momentum_buffer', 'compensation', "
     r"'decay_to', 'init_norm'\]>"),
    ("state-bad-index", corrupt("state/9/momentum_buffer", np.zeros(3)), ValueError,
     r"'state/9/momentum_buffer' is not state/<param index>"),
    ("groups-params", corrupt("param_groups/0/params", np.array([0, 1])), ValueError,
     r"param_groups/0/params'\] does not match this optimizer's parameters \[0, 1, 2\]"),
    ("hyper-out-of-range", corrupt("param_groups/0/lr", np.array(-1.0)), ValueError,
     r"lr must be a finite number >= 0"),
    ("hyper-wrong-kind", corrupt("param_groups/0/nesterov", np.array("yes")), ValueError,
     r"param_groups/0/nesterov'\] must be a scalar bool"),
    ("hyper-missing", corrupt("param_groups/0/momentum", None), ValueError,
     r"state_dict has no entry 'param_groups/0/momentum'"),
    ("unknown-entry", corrupt("extra", np.zeros(1)), ValueError, r"unknown entries \['extra'\]"),
    ("not-an-array", corrupt("state/0/momentum_buffer", [[0.0] * 3] * 4), TypeError,
     r"state_dict\['state/0/momentum_buffer'\] must be a numpy array"),
]


@pytest.mark.parametrize("edit, error, pattern", [c[1:] for c in LOAD_CASES],
                         ids=[c[0] for c in LOAD_CASES])
def test_bad_state_dict_is_refused_and_nothing_changes(edit, error, pattern):
    opt, params = trained()
    sd = edit(opt.state_dict())
    before = opt.state_dict()
    with pytest.raises(error, match=pattern):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_pickled_npz_is_refused():
    opt, _ = trained()
    sd = opt.state_dict()
    sd["state/0/momentum_buffer"] = np.array([object()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **sd)
    buf.seek(0)
    with pytest.raises(ValueError, match=r"cannot be loaded without pickle"):
        opt.load_state_dict(np.load(buf))


# ------------------------------------------------------------------------ torch parity
torch_options = st.fixed_dictionaries(dict(
    lr=st.sampled_from([1e-3, 0.01, 0.1]),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.3]),
    weight_decay=st.sampled_from([0.0, 1e-4, 0.05]),
    nesterov=st.booleans(),
    maximize=st.booleans(),
))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=40)
@given(options=torch_options, seed=st.integers(0, 2**16))
def test_sgd_equals_torch_step_for_step(dtype, options, seed):
    """torch.optim.SGD and pywd.optim.SGD on the same arrays and gradients for 6 steps.
    Tolerance: float64 1e-12 relative; float32 1e-6 relative after 6 steps (torch's CPU
    add_(alpha=) uses fused multiply-add, pywd rounds twice: ~1 ulp per operation)."""
    torch = pytest.importorskip("torch")
    if options["nesterov"] and (options["momentum"] == 0 or options["dampening"] != 0):
        options["nesterov"] = False
    shapes = ((7, 5), (5,), (3, 2, 2))
    ours = model(dtype, seed, shapes)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt_ours = SGD(ours, **options)
    opt_theirs = torch.optim.SGD(theirs, **options)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        grads = grads_for(ours, rng)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        opt_theirs.step()
        opt_ours.step(grads)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for i, (p, t) in enumerate(zip(ours, theirs)):
        expected = t.detach().numpy()
        np.testing.assert_allclose(p, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
        if options["momentum"]:
            buf = opt_theirs.state[t]["momentum_buffer"].numpy()
            np.testing.assert_allclose(opt_ours.state[i]["momentum_buffer"], buf, rtol=rtol,
                                       atol=rtol * np.abs(buf).max())
