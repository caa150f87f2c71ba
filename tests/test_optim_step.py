"""Optimizer.step as one transaction: the whole step, state included, is checked
before its first kernel, so a refused step changes nothing (no parameter, no state, no
counter); counters that cannot advance are refused, on step and on load; saved state is
checked as strictly as the step would use it; concurrent steps are serialised."""
import threading

import numpy as np
import pytest

from helpers import snapshot
from pywd import optim


def two_groups(cls=optim.Adam, **hyper):
    w0, w1 = np.ones(4), np.full(4, 2.0)
    return [w0, w1], cls([{"params": [w0]}, {"params": [w1]}], lr=0.1, **hyper)


def frozen(opt, params):
    """Everything a step could change: params, state_dict (counters included)."""
    state = opt.state_dict()
    return snapshot(params), {k: v.tobytes() for k, v in state.items()}


def test_a_gradient_overlapping_the_second_groups_state_changes_nothing():
    params, opt = two_groups()
    g = np.full(4, 0.5)
    opt.step([g, g])
    before = frozen(opt, params)
    with pytest.raises(ValueError, match=r"grads\[1\] and exp_avg_sq\[1\] overlap"):
        opt.step([g, opt.state[1]["exp_avg_sq"]])
    assert frozen(opt, params) == before            # w0 untouched, counters still 1


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad,
                                 optim.Lion])
def test_a_state_array_overlapping_a_parameter_changes_nothing(cls):
    params, opt = two_groups(cls, **({"momentum": 0.9} if cls is optim.SGD else {}))
    opt.step([np.ones(4), np.ones(4)])
    name = opt.state_arrays[0]
    opt.state[1][name] = params[0]                  # one group's state is the other's weight
    before = frozen(opt, params)
    with pytest.raises(ValueError, match=r"overlap in memory"):
        opt.step([np.ones(4), np.ones(4)])
    assert frozen(opt, params) == before


def test_a_bad_hyper_parameter_in_the_second_group_changes_nothing():
    params, opt = two_groups()
    opt.param_groups[1]["eps"] = -1.0
    with pytest.raises(ValueError, match=r"eps must be a finite number >= 0"):
        opt.step([np.ones(4), np.ones(4)])
    assert opt.state == {} and (params[0] == 1).all()


def test_float32_hyper_parameters_are_checked_in_float32_before_any_group_runs():
    w64, w32 = np.ones(3), np.ones(3, np.float32)
    opt = optim.SGD([{"params": [w64]}, {"params": [w32]}], lr=1e39)
    with pytest.raises(ValueError, match=r"lr must be finite in float32"):
        opt.step([np.ones(3), np.ones(3, np.float32)])
    assert (w64 == 1).all() and (w32 == 1).all()
    opt.param_groups[1]["lr"] = 0.5
    opt.step([np.ones(3), np.ones(3, np.float32)])  # float64 runs with lr=1e39: finite
    assert (w32 == 0.5).all() and (w64 == 1 - 1e39).all()


def test_a_counter_that_cannot_advance_is_refused_before_anything():
    params, opt = two_groups()
    opt.step([np.ones(4), np.ones(4)])
    opt.state[1]["step"] = 2**62 - 1
    before = frozen(opt, params)
    with pytest.raises(ValueError, match=r"state\[1\]\['step'\] is 4611686018427387903: a "
                                         r"step counter is an int and cannot advance"):
        opt.step([np.ones(4), np.ones(4)])
    assert frozen(opt, params) == before
    assert opt.state_dict()["state/1/step"] == 2**62 - 1      # still saves


@pytest.mark.parametrize("edit, message", [
    (lambda s: {**s, "state/1/step": np.array(2**62)}, r"must be an int in \[0, 2\*\*62\)"),
    (lambda s: {**s, "state/1/step": np.array(2**64 - 1, np.uint64)}, r"\[0, 2\*\*62\)"),
    (lambda s: {**{("state/01/" + k.split("/")[2] if k.startswith("state/1/") else k): v
                   for k, v in s.items()}}, r"'state/01/.*' is not state/<param index>"),
    (lambda s: {**s, "state/1/exp_avg_sq": np.full(4, np.nan)}, r"must be >= 0 everywhere"),
    (lambda s: {**s, "state/0/exp_avg_sq": -np.ones(4)}, r"must be >= 0 everywhere"),
    (lambda s: {k: v for k, v in s.items() if k != "state/1/exp_avg"},
     r"state for parameter 1 without \['exp_avg'\]"),
    (lambda s: {k: v for k, v in s.items() if k != "state/0/step"},
     r"state for parameter 0 without \['step'\]"),
])
def test_load_state_dict_refuses_state_the_step_could_not_use(edit, message):
    params, opt = two_groups()
    opt.step([np.ones(4), np.ones(4)])
    saved = opt.state_dict()
    before = frozen(opt, params)
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(edit(saved))
    assert frozen(opt, params) == before


def test_load_state_dict_accepts_a_parameter_without_state():
    params, opt = two_groups()
    opt.step([np.ones(4), None])                     # parameter 1 has no state yet
    twin_params, twin = two_groups()
    twin.load_state_dict(opt.state_dict())
    assert set(twin.state) == {0}


def test_a_skipped_or_refused_first_step_creates_no_state():
    params, opt = two_groups(optim.AdamW, amsgrad=True)
    assert not opt.step([np.ones(4), np.full(4, np.nan)], nonfinite="skip")
    with pytest.raises(ValueError):
        opt.step([np.ones(4), np.ones(5)])
    assert opt.state == {} and opt.skipped_steps == 1
    assert opt.step([np.ones(4), np.ones(4)]) and set(opt.state) == {0, 1}


def test_steps_from_several_threads_run_one_after_another():
    """Each step whole: N concurrent steps give the bytes of N serial steps (SGD with a
    constant gradient commutes, so the order does not matter, only that none interleave)."""
    n, size = 8, 300_000
    w = [np.zeros(size), np.zeros(size)]
    twin = [np.zeros(size), np.zeros(size)]
    opt = optim.SGD([{"params": w[:1]}, {"params": w[1:]}], lr=0.5, momentum=0.9)
    serial = optim.SGD([{"params": twin[:1]}, {"params": twin[1:]}], lr=0.5, momentum=0.9)
    grads = [np.ones(size), np.ones(size)]
    threads = [threading.Thread(target=opt.step, args=(grads,)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(n):
        serial.step(grads)
    assert [a.tobytes() for a in w] == [a.tobytes() for a in twin]


def test_many_groups_construct_and_step():
    params = [np.ones(3) for _ in range(3000)]
    opt = optim.Adam([{"params": [p]} for p in params], lr=0.1)
    opt.step([np.ones(3)] * 3000)                   # one gradient array for every parameter
    assert all(p[0] < 1 for p in params) and opt.state[2999]["step"] == 1
    with pytest.raises(ValueError, match=r"params\[0\] and params\[3000\] overlap"):
        opt.add_param_group({"params": [params[0]]})


@pytest.mark.parametrize("change", ["replace array", "replace entry", "replace state",
                                    "load", "delete entry"])
def test_what_the_user_does_to_the_state_is_what_the_next_step_uses(change):
    """A step reuses the state arrays it looked up while the state is unchanged; every way
    of changing it is seen (and a plain dict put in its place is used as is)."""
    params = [np.ones(3) for _ in range(4)]
    twins = [p.copy() for p in params]
    opt, twin = optim.Adam(params, lr=0.1), optim.Adam(twins, lr=0.1)
    grads = [np.full(3, 0.5) for _ in range(4)]
    for _ in range(2):
        opt.step(grads)
        twin.step(grads)
    if change == "replace array":
        opt.state[2]["exp_avg"] = np.full(3, 7.0)
        twin.state[2]["exp_avg"][...] = 7.0
    elif change == "replace entry":
        opt.state[1] = {**opt.state[1], "exp_avg_sq": np.full(3, 2.0)}
        twin.state[1]["exp_avg_sq"][...] = 2.0
    elif change == "replace state":
        opt.state = {i: dict(s, step=5) for i, s in opt.state.items()}
        for s in twin.state.values():
            s["step"] = 5
    elif change == "load":
        saved = twin.state_dict()
        saved["state/3/exp_avg"] = np.full(3, -1.0)
        opt.load_state_dict(saved)
        twin.load_state_dict(saved)
    else:
        del opt.state[0]
        del twin.state[0]
    for _ in range(2):
        opt.step(grads)
        twin.step(grads)
    assert [p.tobytes() for p in params] == [t.tobytes() for t in twins]
    opt.state[3]["exp_avg"] = np.zeros(5)              # and a bad replacement is refused
    with pytest.raises(ValueError, match=r"exp_avg\[3\]: shape \(5,\) does not match"):
        opt.step(grads)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad,
                                 optim.Lion])
def test_groups_sharing_hyper_parameters_share_kernel_calls_with_the_same_result(cls):
    """Groups 0 and 2 are alike and run in one call, group 1 differs (its lr, and a float32
    parameter): each parameter ends as under its own optimiser, to the bit."""
    rng = np.random.default_rng(3)
    shapes = [(3,), (2, 2), (5,), (4,)]
    params = [rng.standard_normal(s) for s in shapes]
    params[3] = params[3].astype(np.float32)
    twins = [p.copy() for p in params]
    groups = [{"params": params[:1]}, {"params": params[1:2], "lr": 0.02},
              {"params": params[2:3]}, {"params": params[3:]}]
    opt = cls(groups, lr=0.01)
    alone = [cls([t], lr=0.02 if i == 1 else 0.01) for i, t in enumerate(twins)]
    for step in range(3):
        grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
        opt.step(grads)
        for one, g in zip(alone, grads):
            one.step([g])
    assert [p.tobytes() for p in params] == [t.tobytes() for t in twins]


@pytest.mark.parametrize("cls", [optim.Adam, optim.RMSprop, optim.Adagrad])
def test_skipped_and_refused_steps_leave_the_counters(cls):
    params, opt = two_groups(cls)
    opt.step([np.ones(4), np.ones(4)])
    before = frozen(opt, params)
    assert not opt.step([np.ones(4), np.full(4, np.inf)], nonfinite="skip")
    with pytest.raises(FloatingPointError):
        opt.step([np.full(4, np.nan), np.ones(4)], nonfinite="raise")
    opt.state[1]["step"] = 2.0                     # a counter that is not an int
    with pytest.raises(ValueError, match=r"state\[1\]\['step'\] is 2.0: a step counter is an int"):
        opt.step([np.ones(4), np.ones(4)])
    opt.state[1]["step"] = 1
    opt.skipped_steps = 0                          # the one thing a skipped step counts
    assert frozen(opt, params) == before
    opt.step([np.ones(4), np.ones(4)])
    assert opt.state[0]["step"] == opt.state[1]["step"] == 2


def test_an_optimizer_copies_and_pickles_with_its_state():
    import copy
    import pickle
    params, opt = two_groups(optim.AdamW)
    opt.step([np.ones(4), np.ones(4)])
    for twin in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        twin.step([np.ones(4), np.ones(4)])
        assert twin.state[1]["step"] == 2 and opt.state[1]["step"] == 1
        twin.state[0]["exp_avg"] = np.full(4, 3.0)          # its changes are still seen
        twin.step([np.ones(4), np.ones(4)])
        assert twin.state[0]["exp_avg"][0] != 3.0


def test_a_near_miss_of_a_hyper_parameter_name_is_refused():
    """{"weight_deacy": 0.0} used to leave the default decay in force."""
    w, b = np.ones(3), np.ones(2)
    with pytest.raises(ValueError, match=r"param group key 'weight_deacy' is not a "
                                         r"hyper-parameter of AdamW: did you mean "
                                         r"'weight_decay'\?"):
        optim.AdamW([{"params": [w]}, {"params": [b], "weight_deacy": 0.0}])
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match=r"did you mean 'momentum'"):
        opt.add_param_group({"params": [b], "momentun": 0.9})
    assert len(opt.param_groups) == 1


def test_extra_group_keys_are_kept_and_plain_ones_saved():
    params = [np.ones(3), np.ones(2)]
    groups = [{"params": params[:1], "name": "weights", "layer": 3},
              {"params": params[1:], "name": "biases", "weight_decay": 0.0, "tags": ["b"]}]
    opt = optim.AdamW(groups, lr=0.1)
    assert opt.param_groups[1]["tags"] == ["b"]               # kept, though not saved
    opt.step([np.ones(3), np.ones(2)])
    saved = opt.state_dict()
    assert saved["param_groups/0/extra/name"] == "weights"
    assert "param_groups/1/extra/tags" not in saved
    twin = optim.AdamW([{"params": [np.ones(3)]}, {"params": [np.ones(2)]}], lr=0.1)
    twin.load_state_dict(saved)
    assert [g.get("name") for g in twin.param_groups] == ["weights", "biases"]
    assert twin.param_groups[0]["layer"] == 3 and type(twin.param_groups[0]["layer"]) is int
    with pytest.raises(ValueError, match=r"did you mean 'betas'"):
        twin.load_state_dict({**saved, "param_groups/0/extra/beta": np.array(0.5)})


@pytest.mark.parametrize("cls", [optim.SGD, optim.AdamW, optim.RMSprop])
def test_a_step_without_any_gradient_says_so(cls):
    """step([None] * n) used to report an applied step."""
    params, opt = two_groups(cls)
    before = frozen(opt, params)
    result = opt.step([None, None])
    assert not result and result.reason == "no gradients" and result.grad_norm is None
    assert frozen(opt, params) == before and opt.skipped_steps == 0
    assert opt.step([None, np.ones(4)]).reason is None              # one is enough


def test_named_parameters_take_gradients_by_name():
    """With biases in a second group, positional grads follow the groups'
    order (W1, W2, b1, b2), not the model's; by name they cannot go wrong."""
    rng = np.random.default_rng(4)
    model = {"W1": rng.standard_normal((4, 3)), "b1": np.zeros(4),
             "W2": rng.standard_normal((2, 4)), "b2": np.zeros(2)}
    twin = {k: v.copy() for k, v in model.items()}
    named = optim.AdamW([{"params": [(k, v) for k, v in model.items() if k[0] == "W"]},
                         {"params": [(k, v) for k, v in model.items() if k[0] == "b"],
                          "weight_decay": 0.0}], lr=0.1)
    plain = optim.AdamW([{"params": [twin["W1"], twin["W2"]]},
                         {"params": [twin["b1"], twin["b2"]], "weight_decay": 0.0}], lr=0.1)
    grads = {k: rng.standard_normal(v.shape) for k, v in model.items()}
    named.step(grads)                                  # any order: a dict
    plain.step([grads["W1"], grads["W2"], grads["b1"], grads["b2"]])   # the groups' order
    assert all(model[k].tobytes() == twin[k].tobytes() for k in model)
    assert named.param_groups[1]["param_names"] == ["b1", "b2"]
    assert named.step({"W1": grads["W1"]})             # the others have no gradient
    with pytest.raises(ValueError, match=r"'W1_' \(did you mean 'W1'\?\)"):
        named.step({"W1_": grads["W1"]})
    with pytest.raises(TypeError, match=r"grads by name need parameters given as \(name, "
                                        r"array\) pairs"):
        plain.step(grads)


def test_named_parameters_are_checked_and_saved():
    w, b = np.ones(3), np.ones(2)
    with pytest.raises(ValueError, match=r"name every parameter"):
        optim.SGD([("w", w), b], lr=0.1)
    with pytest.raises(ValueError, match=r"parameter names must be unique, got \['w'\]"):
        optim.SGD([{"params": [("w", w)]}, {"params": [("w", b)]}], lr=0.1)
    opt = optim.Adam([("w", w), ("b", b)], lr=0.1)
    opt.step({"w": np.ones(3), "b": np.ones(2)})
    saved = opt.state_dict()
    assert saved["param_groups/0/param_names"].tolist() == ["w", "b"]
    other = optim.Adam([("u", np.ones(3)), ("b", np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match=r"holds parameters \['w', 'b'\], this optimizer's "
                                         r"holds \['u', 'b'\]: the state of another model"):
        other.load_state_dict(saved)
    optim.Adam([("w", np.ones(3)), ("b", np.ones(2))], lr=0.1).load_state_dict(saved)
