"""The public API called with random arguments: any mix of valid values, junk values, odd
arrays and odd lists. The only acceptable outcomes are a correct result (equal to the
reference) or a TypeError/ValueError with every array byte-identical (FloatingPointError
too, only under nonfinite="raise"). A crash, another exception or a half-done update fails.
"""
import math

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import pywd
from helpers import VALID_CALLS, assert_matches, table_arrays
from pywd import _optimisers, init, reference

# every array argument of each update, from the table of optimisers (pywd/_optimisers.py);
# Adafactor's factored state is not a row of it (muon refuses arrays that are not 2-D)
ARRAY_ARGS = {name: list(table_arrays(name, [s.name for s in update.state]))
              for name, update in _optimisers.UPDATES.items() if name != "sgdw"}
ARRAY_ARGS["adafactor"] = ["params", "grads", "row_vars", "col_vars", "variances"]
GRAD_OPTIONS = dict(nonfinite=["propagate", "skip", "raise"], grad_scale=[1.0, 0.5, 64.0],
                    max_grad_norm=[None, 0.1, 10.0])
VALID = {
    "sgd": dict(lr=[0.0, 0.01, 0.5], momentum=[0.0, 0.9], dampening=[0.0, 0.5],
                nesterov=[False, True], weight_decay=[0.0, 0.01], maximize=[False, True],
                first_step=[False, True], decay=["l2", "decoupled", "independent", "l1"],
                **GRAD_OPTIONS),
    "adam": dict(step=[1, 5], lr=[0.0, 0.01], beta1=[0.0, 0.9], beta2=[0.5, 0.999],
                 eps=[0.0, 1e-8], weight_decay=[0.0, 0.01], amsgrad=[False, True],
                 maximize=[False, True], decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "rmsprop": dict(lr=[0.0, 0.01], alpha=[0.0, 0.99], eps=[1e-8, 1.0], momentum=[0.0, 0.9],
                    centered=[False, True], weight_decay=[0.0, 0.1], maximize=[False, True],
                    decay=["l2", "independent"], **GRAD_OPTIONS),
    "adagrad": dict(step=[1, 3], lr=[0.0, 0.1], lr_decay=[0.0, 0.1], eps=[1e-10, 0.1],
                    weight_decay=[0.0, 0.1], maximize=[False, True], decay=["l2", "l1"],
                    **GRAD_OPTIONS),
    "lion": dict(lr=[0.0, 0.01], beta1=[0.0, 0.9], beta2=[0.0, 0.99],
                 weight_decay=[0.0, 0.1], maximize=[False, True], decay=["decoupled", "l1"],
                 **GRAD_OPTIONS),
    "adamax": dict(step=[1, 5], lr=[0.0, 0.01], beta1=[0.0, 0.9], beta2=[0.0, 0.999],
                   eps=[0.0, 1e-8], weight_decay=[0.0, 0.01], maximize=[False, True],
                   decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "radam": dict(step=[1, 7], lr=[0.0, 0.01], beta1=[0.0, 0.9], beta2=[0.5, 0.999],
                  eps=[0.0, 1e-8], weight_decay=[0.0, 0.01], maximize=[False, True],
                  decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "adadelta": dict(lr=[0.0, 1.0], rho=[0.0, 0.9], eps=[0.0, 1e-6], weight_decay=[0.0, 0.01],
                     maximize=[False, True], decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "nadam": dict(step=[1, 7], mu_product=[None, 1.0, 0.3], lr=[0.0, 0.01], beta1=[0.0, 0.9],
                  beta2=[0.5, 0.999], eps=[0.0, 1e-8], momentum_decay=[0.0, 4e-3],
                  weight_decay=[0.0, 0.01], maximize=[False, True],
                  decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "rprop": dict(lr=[0.0, 0.01], etaminus=[0.5, 0.1], etaplus=[1.2, 3.0],
                  step_size_min=[0.0, 1e-6], step_size_max=[50.0, 1e-3],
                  weight_decay=[0.0, 0.01], maximize=[False, True],
                  decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "asgd": dict(step=[1, 7], lr=[0.0, 0.01], lambd=[0.0, 1e-4], alpha=[0.0, 0.75],
                 t0=[1e6, 2.0], eta=[None, 0.1], mu=[None, 1.0, 0.5], weight_decay=[0.0, 0.01],
                 maximize=[False, True], decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "lamb": dict(step=[1, 7], lr=[0.0, 0.01], beta1=[0.0, 0.9], beta2=[0.5, 0.999],
                 eps=[0.0, 1e-6], weight_decay=[0.0, 0.01], bias_correction=[True, False],
                 trust_clip=[False, True], always_adapt=[False, True], maximize=[False, True],
                 decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "lars": dict(lr=[0.0, 0.1], momentum=[0.9], dampening=[0.0, 0.1], trust_coeff=[1e-3, 0.0],
                 eps=[0.0, 1e-8], trust_clip=[False, True], always_adapt=[False, True],
                 weight_decay=[0.0, 0.01], maximize=[False, True], first_step=[False, True],
                 decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "adamw_schedulefree": dict(step=[1, 7], average_weight=[1.0, 0.6, 0.1], lr=[0.0, 0.01],
                               beta1=[0.0, 0.9], beta2=[0.5, 0.999], eps=[0.0, 1e-8],
                               weight_decay=[0.0, 0.01], maximize=[False, True],
                               decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "sgd_schedulefree": dict(average_weight=[1.0, 0.6, 0.1], lr=[0.0, 0.5],
                             momentum=[0.0, 0.9], weight_decay=[0.0, 0.01],
                             maximize=[False, True], decay=["l2", "decoupled", "l1"],
                             **GRAD_OPTIONS),
    "muon": dict(lr=[0.0, 0.02], momentum=[0.0, 0.95], nesterov=[True, False],
                 ns_steps=[0, 5], eps=[1e-7, 0.0], adjust_lr_fn=[None, "match_rms_adamw"],
                 weight_decay=[0.0, 0.1], maximize=[False, True],
                 decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "adafactor": dict(step=[1, 5], lr=[0.0, 0.01], beta2_decay=[-0.8, 0.0],
                      eps=[(None, 1e-3), (1e-30, 0.0)], d=[1.0, 2.0],
                      weight_decay=[0.0, 0.01], maximize=[False, True],
                      decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
    "decay": dict(lr=[0.0, 0.1], weight_decay=[0.0, 0.5], decay=["l2", "decoupled", "l1"]),
    "ademamix": dict(step=[1, 7], lr=[0.0, 0.01], beta1=[0.5, 0.9], beta2=[0.5, 0.999],
                     beta3=[0.0, 0.9999], alpha=[0.0, 5.0], t_alpha=[None, 10], t_beta3=[None],
                     eps=[0.0, 1e-8], weight_decay=[0.0, 0.01], maximize=[False, True],
                     decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS),
}
# Adafactor's state is shaped by its param's: a factor per row and per column (2 or more
# dims), a full variance (fewer), None where a param has none
STATE_SHAPES = {"row_vars": lambda s: s[:-1] + (1,) if len(s) >= 2 else None,
                "col_vars": lambda s: s[:-2] + (1,) + s[-1:] if len(s) >= 2 else None,
                "variances": lambda s: s if len(s) < 2 else None}
VALID["adamw"] = VALID["adam"]
# an update without choices of its own above: its valid call (helpers.VALID_CALLS), every
# decay kind and gradient option
VALID.update({name: dict({k: [v] for k, v in VALID_CALLS[name][1].items()},
                         decay=["l2", "decoupled", "l1"], **GRAD_OPTIONS)
              for name in ARRAY_ARGS if name not in VALID})
# (weight_decay is required by decay only, average_weight by the schedule-free updates)
REQUIRED = {"lr", "step", "weight_decay", "average_weight"}

junk_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.sampled_from(["l2", "skip", "raise", "propagate", "decoupled"]),
    st.complex_numbers(max_magnitude=2), st.just([0.1]), st.just(np.float32(0.5)),
    st.just(np.bool_(True)), st.just(np.int64(2)))


@st.composite
def odd_array(draw, like):
    """An array that may or may not be acceptable where `like` is expected."""
    kind = draw(st.sampled_from(["copy", "dtype", "swapped", "strided", "read-only", "shape",
                                 "fortran", "view-of-other", "0-d", "nan"]))
    a = like.copy()
    if kind == "dtype":   # (16-bit float storage has its own twin: tests/test_lowp.py; a
        # uint16 array, as bfloat16 bits viewed as integers, must be refused)
        return a.astype(draw(st.sampled_from([np.uint16, np.float32, np.float64, np.int32])))
    if kind == "swapped":
        return a.astype(a.dtype.newbyteorder(">"))
    if kind == "strided" and a.ndim:
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if kind == "read-only":
        a.flags.writeable = False
    if kind == "shape":
        return np.resize(a, (a.size + 1,))
    if kind == "fortran" and a.ndim == 2:
        return np.asfortranarray(a)
    if kind == "0-d":
        return np.array(1.5, a.dtype)
    if kind == "nan" and a.size:
        a.flat[0] = draw(st.sampled_from([np.nan, np.inf]))
    return a


@st.composite
def arrays_of(draw, name):
    """Valid lists of arrays for every array argument, some then spoiled."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shapes = draw(st.lists(st.sampled_from([(), (0,), (3,), (2, 3), (17,)]), min_size=0,
                           max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    shaped = {arg: [STATE_SHAPES.get(arg, lambda s: s)(s) for s in shapes]
              for arg in ARRAY_ARGS[name]}
    out = {arg: [None if s is None else np.array(np.abs(rng.standard_normal(s)), dtype)
                 for s in shaped[arg]] for arg in ARRAY_ARGS[name]}
    for arg in ARRAY_ARGS[name]:
        spoil = draw(st.integers(0, 30))    # about one argument in six is spoiled
        if spoil == 1 and shapes:
            i = draw(st.integers(0, len(shapes) - 1))
            if out[arg][i] is not None:
                out[arg][i] = draw(odd_array(out[arg][i]))
        elif spoil == 2 and shapes:                      # an array of another argument
            other = out[draw(st.sampled_from(ARRAY_ARGS[name]))]
            # (either may have been shortened, even emptied, by an earlier spoil)
            if isinstance(other, list) and other and isinstance(out[arg], list) and out[arg]:
                out[arg][-1] = other[-1]
        elif spoil == 3:
            out[arg] = draw(st.one_of(junk_scalars, st.just(out[arg][:-1]),
                                      st.just(tuple(out[arg]))))
        elif spoil == 4 and len(shapes) == 1:
            out[arg] = out[arg][0]                       # one array, not a list
        elif spoil == 5 and arg != "params":
            out[arg] = None
    return out


@st.composite
def calls(draw):
    name = draw(st.sampled_from(sorted(ARRAY_ARGS)))
    arrays = draw(arrays_of(name))
    hyper = {}
    for key, choices in VALID[name].items():
        roll = draw(st.integers(0, 19))
        if roll == 0:
            hyper[key] = draw(junk_scalars)
        elif roll > 3 or key in REQUIRED:   # else left to its default
            hyper[key] = draw(st.sampled_from(choices))
    return name, arrays, hyper


def snapshot(arrays):
    return [a.tobytes() if isinstance(a, np.ndarray) else None
            for value in arrays.values() for a in as_list(value)]


def copy_args(arrays):
    """Copies for the reference; an array passed twice stays one array (an argument the
    call ignores, such as max_exp_avg_sqs without amsgrad, may alias params)."""
    copies = {}

    def copy(v):
        if isinstance(v, np.ndarray):
            if id(v) not in copies:
                copies[id(v)] = v.copy(order="K")
                copies[id(v)].flags.writeable = True
            return copies[id(v)]
        if isinstance(v, (list, tuple)):
            return [copy(x) for x in v]
        return v
    return {k: copy(v) for k, v in arrays.items()}


def split(name, arrays):
    positional = [arrays[a] for a in ARRAY_ARGS[name] if a != "max_exp_avg_sqs"]
    keywords = {"max_exp_avg_sqs": arrays["max_exp_avg_sqs"]} if name in ("adam", "adamw") else {}
    return positional, keywords


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls())
def test_random_calls_give_the_reference_result_or_a_clean_error(case):
    name, arrays, hyper = case
    expected = copy_args(arrays)
    before = snapshot(arrays)
    positional, keywords = split(name, arrays)
    try:
        result = getattr(pywd, name)(*positional, **keywords, **hyper)
    except (TypeError, ValueError):
        event(f"refused: {name}")
        assert snapshot(arrays) == before
        return
    except FloatingPointError:
        assert hyper.get("nonfinite") == "raise"
        assert snapshot(arrays) == before
        return
    event(f"applied: {name}" if name == "decay" or result.applied else f"skipped: {name}")
    positional, keywords = split(name, expected)
    # pywd reads every scalar as a double; the reference would round a NumPy float32 scalar
    # with NumPy's rules, so it gets the Python value
    hyper = {k: v.item() if isinstance(v, np.generic) else v for k, v in hyper.items()}
    ref = getattr(reference, name)(*positional, **keywords, **hyper)
    if name != "decay":
        assert result.applied == ref[0]
    for arg in ARRAY_ARGS[name]:
        for a, b in zip(as_list(arrays[arg]), as_list(expected[arg])):
            if isinstance(a, np.ndarray):
                assert_matches(a, b, f"{name} {arg}")


def as_list(value):
    if isinstance(value, np.ndarray):
        return [value]
    return list(value) if isinstance(value, (list, tuple)) else []


INITS = [init.uniform_, init.normal_, init.trunc_normal_, init.constant_, init.eye_,
         init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
         init.kaiming_normal_, init.lecun_normal_, init.orthogonal_, init.sparse_,
         init.dirac_, init.variance_scaling_]
INIT_KWARGS = dict(a=[-1.0, 0.0], b=[1.0, 2.0], mean=[0.0, 1.0], std=[0.5, 1.0],
                   gain=[1.0, 2.0], val=[0.5], sparsity=[0.1, 0.5], rng=[0, 7],
                   mode=["fan_in", "fan_out"], nonlinearity=["relu", "tanh"],
                   layout=["torch", "keras"], groups=[1, 2], scale=[1.0, 2.0],
                   distribution=["normal", "uniform"])


@st.composite
def init_calls(draw):
    fill = draw(st.sampled_from(INITS))
    like = np.full(draw(st.sampled_from([(4, 6), (3, 2, 3), (0, 5), (7,), ()])), 3.0,
                   draw(st.sampled_from([np.float32, np.float64])))
    tensor = draw(st.one_of(st.just(like), odd_array(like), junk_scalars))
    keys = draw(st.lists(st.sampled_from(sorted(INIT_KWARGS)), max_size=3, unique=True))
    kwargs = {k: draw(st.one_of(st.sampled_from(INIT_KWARGS[k]), junk_scalars)) for k in keys}
    return fill, tensor, kwargs


@settings(max_examples=300, deadline=None)
@given(init_calls())
def test_random_initialiser_calls_fill_correctly_or_refuse_cleanly(case):
    fill, tensor, kwargs = case
    before = tensor.tobytes() if isinstance(tensor, np.ndarray) else None
    try:
        out = fill(tensor, **kwargs)
    except (TypeError, ValueError):
        if before is not None:
            assert tensor.tobytes() == before
        return
    assert out is tensor                                # in place, never a silent copy
    assert np.isfinite(tensor).all() or math.isnan(kwargs.get("val", 0.0) or 0.0)
    again = np.full_like(tensor, 3.0)                   # and reproducible
    if kwargs.get("rng") is not None:
        np.testing.assert_array_equal(fill(again, **kwargs), tensor)
