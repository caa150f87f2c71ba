"""Checkpoints that load back. A run checkpointed under any lr scheduler resumes: for every
scheduler class and every optimiser class, three steps, a checkpoint (pywd.optim's
state_dicts through ``np.savez``, pywd.torch's and torch's schedulers' through
``torch.save``), a fresh optimiser and scheduler built as at the start and loaded from it,
three more steps give the bytes of the uninterrupted run (params, optimiser state, the
groups' values); the keys the schedulers write into the groups (initial_lr, max_lr, min_lr,
max_momentum, base_momentum, swa_lr, initial_<field>) travel with the groups. Options that
are None round-trip in both formats; a bad torch-format step is refused naming it; the
schedulefree package's state_dicts load as it writes them."""
import io

import numpy as np
import pytest

import pywd
from helpers import SCHEDULERS, same_state
from pywd import optim
from pywd._optimisers import UPDATES
from pywd.optim import lr_scheduler as S

CLASSES = [getattr(optim, name) for name in optim.__all__
           if name not in ("Optimizer", "param_groups_weight_decay")]
BEFORE, AFTER = 3, 3            # steps before the checkpoint, and after it
METRICS = [1.0, 0.5, 0.6, 0.7, 0.4, 0.5]    # ReduceLROnPlateau's: it reduces twice


# pywd's own addition: a scheduler driving another field than the lr
FIELDS = {
    "CosineAnnealingLR-weight_decay": lambda m, o: m.CosineAnnealingLR(
        o, T_max=4, eta_min=0.5, field="weight_decay"),
    "LinearLR-momentum": lambda m, o: m.LinearLR(o, start_factor=0.5, total_iters=4,
                                                 field="momentum"),
}


def test_the_tables_name_every_class():
    assert sorted(SCHEDULERS) == sorted(S.__all__[1:])
    assert len(CLASSES) == len({u.cls for u in UPDATES.values() if u.cls}) + 1   # Adafactor


def shapes():
    return [(3, 4), (2, 5)]         # matrices: Muon takes nothing else


def grads(step, dtype=np.float64):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes()]


def groups(params):
    return [{"params": [params[0]], "lr": 0.01, "weight_decay": 0.01},
            {"params": [params[1]], "lr": 0.005}]


def scheduler_step(sched, step):
    if type(sched).__name__ == "ReduceLROnPlateau":
        sched.step(METRICS[step])
    else:
        sched.step()


def run_pywd(cls, make, params, opt_state=None, sched_state=None, steps=range(BEFORE)):
    """`steps` of cls under make's scheduler (loaded from the states, if given)."""
    pywd.seed(7)                    # the stochastic-rounding seed, in the state_dict
    opt = cls(groups(params))
    sched = make(S, opt)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
        sched.load_state_dict(sched_state)
    for step in steps:
        opt.step(grads(step))
        scheduler_step(sched, step)
    return opt, sched


def npz(state_dict):
    buffer = io.BytesIO()
    np.savez(buffer, **state_dict)
    buffer.seek(0)
    return np.load(buffer)          # allow_pickle=False: what a saved checkpoint gives


def field_cases():
    for cls in CLASSES:
        for name in FIELDS:
            if name.endswith("momentum") and "momentum" not in cls.__init__.__code__.co_varnames:
                continue
            yield pytest.param(cls, FIELDS[name], id=f"{cls.__name__}-{name}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls, make", [
    *[pytest.param(cls, make, id=f"{cls.__name__}-{name}")
      for cls in CLASSES for name, make in SCHEDULERS.items()],
    *field_cases()])
def test_pywd_optim_resumes_from_npz_under_every_scheduler(cls, make):
    whole = [np.random.default_rng(9).standard_normal(s) for s in shapes()]
    straight, straight_sched = run_pywd(cls, make, whole, steps=range(BEFORE + AFTER))
    first = [np.random.default_rng(9).standard_normal(s) for s in shapes()]
    opt, sched = run_pywd(cls, make, first)
    opt_state, sched_state = npz(opt.state_dict()), npz(sched.state_dict())
    resumed_params = [p.copy() for p in first]          # the model's checkpoint
    resumed, resumed_sched = run_pywd(cls, make, resumed_params, opt_state, sched_state,
                                      steps=range(BEFORE, BEFORE + AFTER))
    assert [p.tobytes() for p in resumed_params] == [p.tobytes() for p in whole]
    assert same_state(resumed.state_dict(), straight.state_dict())
    assert resumed_sched.get_last_lr() == straight_sched.get_last_lr()


# ---------------------------------------------------------------- pywd.torch, torch's
torch_cases = [pytest.param(cls, make, id=f"{cls.__name__}-{name}")
               for cls in CLASSES for name, make in SCHEDULERS.items()]
torch_cases += [pytest.param(cls, None, id=f"{cls.__name__}-SWALR") for cls in CLASSES]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls, make", torch_cases)
def test_pywd_torch_resumes_from_torch_save_under_every_torch_scheduler(cls, make):
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    schedulers = torch.optim.lr_scheduler
    if make is None:
        make = lambda m, o: torch.optim.swa_utils.SWALR(o, swa_lr=0.002,  # noqa: E731
                                                        anneal_epochs=3)
    torch_cls = getattr(pt, cls.__name__)

    def run(params, saved=None, steps=range(BEFORE)):
        pywd.seed(7)
        opt = torch_cls(groups(params))
        sched = make(schedulers, opt)
        if saved is not None:
            opt.load_state_dict(saved["opt"])
            sched.load_state_dict(saved["sched"])
        for step in steps:
            for p, g in zip(params, grads(step)):
                p.grad = torch.from_numpy(g)
            opt.step()
            scheduler_step(sched, step)
        return opt, sched

    def model():
        return [torch.nn.Parameter(torch.from_numpy(np.random.default_rng(9).standard_normal(s)))
                for s in shapes()]

    whole = model()
    straight, straight_sched = run(whole, steps=range(BEFORE + AFTER))
    first = model()
    opt, sched = run(first)
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed_params = [torch.nn.Parameter(p.detach().clone()) for p in first]
    resumed, resumed_sched = run(resumed_params, saved, steps=range(BEFORE, BEFORE + AFTER))
    assert all(torch.equal(p, q) for p, q in zip(resumed_params, whole))
    ours, theirs = resumed.state_dict(), straight.state_dict()
    assert ours["param_groups"] == theirs["param_groups"] and ours["pywd"] == theirs["pywd"]
    assert ours["state"].keys() == theirs["state"].keys()
    for index, entries in ours["state"].items():
        assert entries.keys() == theirs["state"][index].keys()
        assert all(torch.equal(value, theirs["state"][index][key])
                   for key, value in entries.items())
    assert resumed_sched.get_last_lr() == straight_sched.get_last_lr()


# ------------------------------------------------------- options whose value is None
def none_options(cls):
    """The options of cls that may be None (unset), each set so, and Adafactor's eps1."""
    options = {}
    for key in cls([np.zeros((3, 4))]).defaults:
        try:
            cls([np.zeros((3, 4))], **{key: None})
        except (TypeError, ValueError):
            continue
        options[key] = None
    if cls is optim.Adafactor:
        options["eps"] = (None, 1e-3)
    return options


def test_the_none_options_are_found():
    assert none_options(optim.Muon) == dict.fromkeys(
        ["adjust_lr_fn", "max_lr", "decay_to", "state_dtype"])
    assert none_options(optim.Adafactor) == {"max_lr": None, "decay_to": None,
                                             "eps": (None, 1e-3)}


def stepped(cls, options, params):
    opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.005}], **options)
    for step in range(2):
        opt.step(grads(step))
    return opt


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_none_options_round_trip_through_npz(cls):
    options = none_options(cls)
    assert options
    params = [np.ones(s) for s in shapes()]
    opt = stepped(cls, options, params)
    fresh = cls([{"params": [p.copy()]} for p in params])
    fresh.load_state_dict(npz(opt.state_dict()))
    for group in fresh.param_groups:
        assert {key: group[key] for key in options} == options
    assert same_state(fresh.state_dict(), opt.state_dict())


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_none_options_round_trip_through_torch_save(cls):
    """pywd.torch's state_dict, through torch.save and torch.load(weights_only=True), into
    pywd.torch's class and pywd.optim's: the options stay None."""
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    options = none_options(cls)
    params = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes()]
    opt = getattr(pt, cls.__name__)([{"params": [params[0]]},
                                     {"params": [params[1]], "lr": 0.005}], **options)
    for step in range(2):
        for p, g in zip(params, grads(step)):
            p.grad = torch.from_numpy(g)
        opt.step()
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    fresh = getattr(pt, cls.__name__)([{"params": [torch.nn.Parameter(p.detach().clone())]}
                                       for p in params])
    fresh.load_state_dict(saved)
    plain = cls([{"params": [p.detach().numpy().copy()]} for p in params])
    plain.load_state_dict(saved)
    for loaded in (fresh.param_groups, fresh.pywd.param_groups, plain.param_groups):
        for group in loaded:
            assert {key: group[key] for key in options} == options
    assert same_state(fresh.pywd.state_dict(), opt.pywd.state_dict())
    assert same_state(plain.state_dict(), opt.pywd.state_dict())


# the classes with a torch.optim twin (the table of optimisers, and Adafactor)
TORCH_TWINS = sorted({u.cls for u in UPDATES.values() if u.torch} | {"Adafactor"})


@pytest.mark.parametrize("name", TORCH_TWINS)
def test_torch_optims_state_dict_with_its_none_options_loads(name):
    """torch.optim's class at its defaults (Muon: adjust_lr_fn=None; foreach=None, ...)
    saves a state_dict that pywd.torch's class loads, and the run continues alike."""
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    params = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes()]
    theirs = getattr(torch.optim, name)(params, lr=0.01)
    for p, g in zip(params, grads(0)):
        p.grad = torch.from_numpy(g)
    theirs.step()
    ours = getattr(pt, name)([torch.nn.Parameter(p.detach().clone()) for p in params],
                             lr=0.5)
    ours.load_state_dict(theirs.state_dict())
    assert ours.param_groups[0]["lr"] == 0.01
    assert all(ours.param_groups[0][key] == value for key, value in
               theirs.state_dict()["param_groups"][0].items()
               if key in ours.defaults and key != "params")


def test_a_refused_entry_names_the_key_and_what_it_takes():
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    opt = optim.Muon([np.ones((3, 4))])
    with pytest.raises(TypeError, match=r"\['param_groups/0/adjust_lr_fn'\] must be a numpy "
                                        r"array of numbers or str, got an array of Python "
                                        r"objects \(array\(None"):
        opt.load_state_dict({**opt.state_dict(),
                             "param_groups/0/adjust_lr_fn": np.array(None)})
    saved = pt.Muon([torch.nn.Parameter(torch.ones(3, 4))]).state_dict()
    saved["param_groups"][0]["lr"] = None
    with pytest.raises(ValueError, match=r"\['param_groups'\]\[0\]\['lr'\] is None: lr must "
                                         r"be a number"):
        pt.Muon([torch.nn.Parameter(torch.ones(3, 4))]).load_state_dict(saved)


@pytest.mark.parametrize("scheduled", [False, True])
def test_pywd_torch_resumes_a_group_decaying_relative_to_its_initial_lr(scheduled):
    """decay="independent" scales the decay by lr / max_lr, max_lr defaulting to the lr
    the group was built with: a resumed pywd.torch run keeps it, with or without a torch
    scheduler having recorded it in the groups (it travels in the "pywd" entry), however
    the resumed optimiser was built."""
    torch = pytest.importorskip("torch")
    import pywd.torch as pt

    def run(params, saved=None, steps=range(BEFORE)):
        lr = 0.02 if saved is None else 1.0     # a resumed run's lrs come from its checkpoint
        opt = pt.AdamW([{"params": [params[0]]}, {"params": [params[1]], "lr": lr / 4}],
                       lr=lr, weight_decay=0.1, decay="independent")
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.5) if scheduled else None
        if saved is not None:
            opt.load_state_dict(saved["opt"])
            if sched is not None:
                sched.load_state_dict(saved["sched"])
        for step in steps:
            for p, g in zip(params, grads(step)):
                p.grad = torch.from_numpy(g)
            opt.step()
            if sched is not None:
                sched.step()
            else:
                for group in opt.param_groups:
                    group["lr"] *= 0.5
        return opt, sched

    whole = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes()]
    run(whole, steps=range(BEFORE + AFTER))
    first = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes()]
    opt, sched = run(first)
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched and sched.state_dict()}, buffer)
    buffer.seek(0)
    resumed = [torch.nn.Parameter(p.detach().clone()) for p in first]
    run(resumed, torch.load(buffer, weights_only=True), steps=range(BEFORE, BEFORE + AFTER))
    assert all(torch.equal(p, q) for p, q in zip(resumed, whole))


@pytest.mark.parametrize("value", [np.array("high"), np.array(np.nan), np.array(True)])
def test_a_schedulers_record_must_be_a_number(value):
    opt = optim.SGD([np.ones(3)], momentum=0.9)
    S.OneCycleLR(opt, 0.5, total_steps=10)
    saved = opt.state_dict()
    for key in ("initial_lr", "max_momentum"):
        with pytest.raises(ValueError, match=rf"\['param_groups/0/extra/{key}'\] must be a "
                                             rf"finite number \(a scheduler's record\)"):
            opt.load_state_dict({**saved, f"param_groups/0/extra/{key}": value})
    assert same_state(opt.state_dict(), saved)


# ----------------------------------------------------------- a torch-format step counter
@pytest.mark.parametrize("step", [1e30, float("nan"), float("inf"), -1.0, 1.5, 2.0**62, "3",
                                  True, [1.0, 2.0]], ids=repr)
def test_a_bad_torch_step_is_refused_naming_the_entry_and_its_range(step):
    opt = optim.Adam([np.ones(3)])
    opt.step([np.ones(3)])
    before = opt.state_dict()
    saved = {"state": {0: {"step": step, "exp_avg": np.zeros(3), "exp_avg_sq": np.zeros(3)}},
             "param_groups": [{"params": [0], "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                               "weight_decay": 0.0, "amsgrad": False, "maximize": False}]}
    with pytest.raises(ValueError, match=r"^torch state_dict\['state'\]\[0\]\['step'\] must "
                                         r"be a whole number in \[0, 2\*\*62\) \(the steps "
                                         r"taken\), got "):
        opt.load_state_dict(saved)
    assert same_state(opt.state_dict(), before)
    saved["state"][0]["step"] = 7.0                  # as torch saves it: a float
    opt.load_state_dict(saved)
    assert opt.state[0]["step"] == 7


def test_a_bad_torch_step_tensor_is_refused():
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    opt = pt.Adam([p])
    opt.step()
    for bad in (torch.tensor(1e30), torch.tensor(float("nan")), torch.tensor([1.0, 2.0])):
        saved = opt.state_dict()
        saved["state"][0]["step"] = bad
        with pytest.raises(ValueError, match=r"\['step'\] must be a whole number in \[0, "
                                             r"2\*\*62\)"):
            pt.Adam([torch.nn.Parameter(torch.ones(3))]).load_state_dict(saved)


# --------------------------------------------------------- the schedulefree package's dicts
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", ["AdamWScheduleFree", "SGDScheduleFree"])
def test_the_schedulefree_packages_state_dict_loads_as_it_writes_it(name, mode):
    """The package keeps no maximize and its schedule per group (k, weight_sum, lr_max):
    its state_dict, saved in train or eval mode (the package asks for eval before saving),
    loads into pywd.torch's and pywd.optim's class, which continue as the package does
    (float64: within 1e-12 of the largest weight)."""
    torch = pytest.importorskip("torch")
    schedulefree = pytest.importorskip("schedulefree")
    import contextlib
    import pywd.torch as pt
    options = dict(lr=0.01, weight_decay=1e-3, warmup_steps=3)
    theirs = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes()]
    with contextlib.redirect_stdout(io.StringIO()):           # the package prints
        package = getattr(schedulefree, name)(theirs, **options)
    package.train()

    def step(opt, params, t):
        for p, g in zip(params, grads(t)):
            p.grad = torch.from_numpy(g)
        opt.step()

    for t in range(4):
        step(package, theirs, t)
    getattr(package, mode)()
    buffer = io.BytesIO()
    torch.save(package.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    ours = [torch.nn.Parameter(p.detach().clone()) for p in theirs]
    dropin = getattr(pt, name)(ours, **options)
    dropin.load_state_dict(saved)
    plain_params = [p.detach().numpy().copy() for p in theirs]
    plain = getattr(optim, name)(plain_params, **options)
    plain.load_state_dict(saved)
    assert dropin.param_groups[0]["train_mode"] is plain.param_groups[0]["train_mode"] is (
        mode == "train")
    assert dropin.pywd.state[0]["step"] == plain.state[0]["step"] == 4
    for opt in (package, dropin, plain):
        opt.train()
    for t in range(4, 8):
        step(package, theirs, t)
        step(dropin, ours, t)
        plain.step(grads(t))
    for opt in (package, dropin, plain):
        opt.eval()
    for p, q, r in zip(theirs, ours, plain_params):
        scale = float(p.detach().abs().max())
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=0,
                                   atol=1e-12 * scale)
        np.testing.assert_allclose(r, p.detach().numpy(), rtol=0, atol=1e-12 * scale)
