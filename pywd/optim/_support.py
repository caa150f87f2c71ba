"""What pywd.optim's classes share besides their base class: the state_dict's constants,
the checks of a param group's options (torch's switches, names, decay anchors, 16-bit
storage) and the conversions of saved entries."""
import difflib
import zipfile
from collections import Counter
from typing import Any

import numpy as np

from .. import _generator, _kernels, memory
from ..flat import FlatParams

STATE_FORMAT = "pywd.optim/1"
# The shared hyper-parameters whose default is None (unset), with the type of their values
# (a class adds its own: Optimizer.optional_hyper): state_dict saves None as an empty array.
OPTIONAL_HYPER = {"max_lr": float, "decay_to": str, "state_dtype": str,
                  "norm_target": "number or str"}
# the storage a group's state may take instead of its params' dtype (16-bit: csrc/lowp.h)
STATE_DTYPES = ("float32", "bfloat16", "float16", "8bit")
# 8-bit state (state_dtype="8bit") only for parameters of at least this many elements; the
# smaller keep float32 state (bitsandbytes' min_8bit_size: their bytes are few, and a
# block's scale costs as much as 4 codes)
MIN_8BIT_SIZE = 4096
# A group with decay_to keeps each parameter's anchor as this state array (only read).
ANCHOR = "decay_to"
# A group with norm_target="init" keeps each parameter's norm when the group was added as
# this state entry (a float): the norm its decay pulls it toward.
INIT_NORM = "init_norm"
# A group with kahan_sum keeps each (16-bit) parameter's Kahan compensation as this state.
COMPENSATION = "compensation"
# a state array's initial value (_state_needed) that is its parameter's (schedule-free's z)
COPY_OF_PARAM = "a copy of the parameter"
# Step counters stay below this (the update functions take step < 2**62), so that they always
# advance and save as int64.
STEP_LIMIT = 2**62


# Group keys that lr schedulers write besides the value they drive (torch's and pywd's: the
# start values and bounds of OneCycleLR, CyclicLR and SWALR, and initial_<field>, as
# initial_lr): kept, saved and loaded with the group, as torch does, and never taken for a
# misspelt hyper-parameter ("max_momentum" is not a typo of "momentum").
SCHEDULER_KEYS = ("max_lr", "min_lr", "max_momentum", "base_momentum", "swa_lr")


def _scheduler_key(key):
    return key in SCHEDULER_KEYS or key.startswith("initial_")


# torch.optim's implementation switches: pywd has one implementation (one fused C call per
# list), so they have nothing to choose and are accepted for ports to keep working.
TORCH_OPTIONS = ("foreach", "fused", "capturable", "differentiable")


def _check_torch_options(options, defaults, optimizer):
    """Accepts torch's foreach=, fused=, capturable= (bool or None; ignored) and
    differentiable=False; refuses anything else with Python's message for an unknown keyword,
    plus a hint for a near miss of a real one."""
    for key, value in options.items():
        if key not in TORCH_OPTIONS:
            close = difflib.get_close_matches(key, [*TORCH_OPTIONS, *defaults], n=1,
                                              cutoff=0.7)
            raise TypeError(f"{optimizer}() got an unexpected keyword argument {key!r}"
                            + (f": did you mean {close[0]!r}?" if close else ""))
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be a bool or None, got {value!r}")
        if key == "differentiable" and value:
            raise ValueError("differentiable=True cannot be honoured: pywd updates NumPy "
                             "arrays in place, outside any autograd graph (torch.optim's "
                             "differentiable steps need torch.optim itself)")


def _refuse_near_miss(key, defaults, optimizer):
    """A param group key that is almost a hyper-parameter's name is a typo that would leave
    the default in force ({"weight_deacy": 0.0} decayed the biases)."""
    if key == "params" or key in defaults or not isinstance(key, str) or _scheduler_key(key):
        return
    close = difflib.get_close_matches(key, [*defaults, "params"], n=1, cutoff=0.8)
    if close:
        raise ValueError(f"param group key {key!r} is not a hyper-parameter of {optimizer}: "
                         f"did you mean {close[0]!r}? (other extra keys, such as a name, are "
                         f"kept)")


def _describe(group):
    """A group's parameters in a few words: '3 arrays (float32), 16640 elements: fc1.weight,
    fc1.bias, fc2.weight'."""
    params = group["params"]
    dtypes = ", ".join(sorted({str(p.dtype) for p in params}))
    text = (f"{len(params)} array{'s' if len(params) > 1 else ''} ({dtypes}), "
            f"{sum(p.size for p in params)} elements")
    names = group.get("param_names")
    if names:
        text += ": " + ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return text


def _call_closure(closure):
    out = closure()
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"closure must return (loss, grads): pywd's parameters are arrays "
                        f"without a .grad to read, got {type(out).__name__}")
    return out


def _plain(value):
    return isinstance(value, (str, bool, int, float, np.bool_, np.integer, np.floating))


def _grad_list(grads, n):
    """step()'s grads as a list of n entries (arrays, array-likes or None)."""
    if isinstance(grads, FlatParams):
        grads = grads.views
    if isinstance(grads, np.ndarray):
        grads = [grads]
    if not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads must be a list of arrays (one per parameter), "
                        f"got {type(grads).__name__}")
    if len(grads) != n:
        raise ValueError(f"grads has {len(grads)} arrays but the optimizer has {n} parameters")
    return list(grads)


def _check_unique_names(groups):
    counts = Counter(n for group in groups for n in group.get("param_names", ()))
    repeated = sorted(n for n, count in counts.items() if count > 1)
    if repeated:
        raise ValueError(f"parameter names must be unique, got {repeated} twice")


def _names_of(params):
    """The names of (name, array) pairs (model.named_parameters()), or None for arrays."""
    pairs = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params]
    if not any(pairs):
        return None
    if not all(pairs):
        raise ValueError("name every parameter, as (name, array) pairs, or none of them")
    return [name for name, _ in params]


def _param_list(params: Any) -> list[Any]:
    """Parameters as a list: one array (or array-like, such as a torch tensor) is a list of
    one; any other iterable (a list, a generator, a FlatParams' views) is listed."""
    if isinstance(params, np.ndarray) or hasattr(params, "__array__"):
        return [params]
    return list(params)


def _read_entry(state_dict, key, where=None):
    """state_dict[key]; a damaged or pickled .npz entry (numpy.load's NpzFile reads it
    here) refused, naming it (`where`: its name, if not state_dict[key])."""
    where = where or f"state_dict[{key!r}]"
    try:
        return state_dict[key]
    except ValueError as err:           # NpzFile refuses pickled objects
        raise ValueError(f"{where} cannot be loaded without pickle: {err}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:   # a damaged .npz entry
        raise ValueError(f"{where} cannot be read (corrupt file?): {err}") from None


def _load_entry(state_dict, key):
    if not isinstance(key, str):
        raise TypeError(f"state_dict keys must be str, got {key!r}")
    value = _read_entry(state_dict, key)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"state_dict[{key!r}] must be a numpy array of numbers or str, "
                        f"got {type(value).__name__}")
    if value.dtype.hasobject:
        raise TypeError(f"state_dict[{key!r}] must be a numpy array of numbers or str, got "
                        f"an array of Python objects ({_short(value)}): pywd's state_dict "
                        f"saves an unset option (None) as an empty array")
    return value


def _short(value):
    """repr(value), cut to a line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expect_str(entries, key, expected):
    value = entries.get(key)
    if value is None or value.shape != () or value.dtype.kind != "U" or str(value) != expected:
        raise ValueError(f"state_dict[{key!r}] must be {expected!r}, got {value!r}")


def _saved_hyper(value):
    """A hyper-parameter as state_dict saves it (an unset optional one, None, as an empty
    array: NaN would not equal itself when two state_dicts are compared)."""
    if isinstance(value, tuple) and None in value:   # Adafactor's eps = (None, eps2)
        return np.array([np.nan if v is None else v for v in value], np.float64)
    return np.array([], np.float64) if value is None else np.array(value)


def _hyper_value(value, default, key, optional=None):
    """A saved hyper-parameter as a Python bool, str, float (any number: a default given as
    int, momentum=0, still loads a saved 0.9) or tuple of floats (betas; NaN: None, as
    Adafactor's eps1), by its default; an optional one (optional: its type) is of
    that type or, saved empty, None."""
    shape = (len(default),) if isinstance(default, tuple) else ()
    if optional is not None and value.shape == (0,) and value.dtype.kind in "fiu":
        return None
    if optional == "number or str":
        kinds, kind_name = "fiuU", "number or str (or empty: None)"
        convert = str if value.dtype.kind == "U" else float
    elif optional is str:
        kinds, kind_name, convert = "U", "str (or empty: None)", str
    elif optional is not None:
        kinds, kind_name, convert = "fiu", "number (or empty: None)", float
    elif isinstance(default, (bool, np.bool_)):
        kinds, kind_name, convert = "b", "bool", bool
    elif isinstance(default, str):
        kinds, kind_name, convert = "U", "str", str
    elif isinstance(default, tuple):
        kinds, kind_name = "fiu", f"{len(default)} numbers"
        convert = lambda v: tuple(None if x != x else float(x) for x in v)   # noqa: E731
    else:
        kinds, kind_name, convert = "fiu", "number", float
    if value.shape != shape or value.dtype.kind not in kinds:
        raise ValueError(f"state_dict[{key!r}] must be {'a scalar ' if not shape else ''}"
                         f"{kind_name}, got {value!r}")
    return convert(value.tolist())


def _anchors(group):
    """The anchors of a group being added, by its decay_to: None (no anchors), "init" (a
    copy of each parameter now) or arrays like its params (kept as they are, only read). The
    group then says "init" or "given"; the anchors become each parameter's state ANCHOR."""
    decay_to, params = group.get("decay_to"), group["params"]
    if decay_to is None:
        return []
    if isinstance(decay_to, str):
        if decay_to != "init":
            raise ValueError(f"decay_to must be None, 'init' or arrays like the group's "
                             f"params, got {decay_to!r}")
        anchors = [memory.empty_like(p) for p in params]
        for anchor, p in zip(anchors, params):
            anchor[...] = p
        return anchors
    given = _param_list(decay_to)
    if len(given) != len(params):
        raise ValueError(f"decay_to has {len(given)} arrays but the group has {len(params)} "
                         f"params: one anchor per parameter")
    anchors = [_kernels._as_view(a, f"decay_to[{i}]") for i, a in enumerate(given)]
    for i, (anchor, p) in enumerate(zip(anchors, params)):
        if anchor.shape != p.shape or anchor.dtype != p.dtype:
            raise ValueError(f"decay_to[{i}] is {anchor.dtype} {anchor.shape}, but its "
                             f"parameter is {p.dtype} {p.shape}")
    group["decay_to"] = "given"
    return anchors


def _anchored(group):
    """An update's decay_to: the anchors are the last state array of its batch."""
    return {"decay_to": _kernels.ANCHORS_IN_BATCH} if group.get("decay_to") is not None else {}


def _rounding_seed(rng):
    """The optimiser's stochastic-rounding seed from rng=: an int, a Generator's seed, or
    for None one drawn from the default generator (advancing it by one block), so that after
    pywd.seed(n) optimisers repeat, and two optimisers do not share bits."""
    if rng is None:
        gen = _generator.default_generator()
        position = gen.position
        words = _kernels._philox((position & 0xFFFFFFFF, position >> 32, 0xFFFFFFFF,
                                  0xFFFFFFFF), (gen.seed & 0xFFFFFFFF, gen.seed >> 32))
        gen.position = (position + 1) % 2**64
        return int(words[0]) | int(words[1]) << 32
    return _generator.as_generator(rng).seed


def _check_storage(group):
    """A group's rounding and state_dtype (normalised to a name or None), against its
    params: 16-bit storage goes with float32 computation, float64 stays float64."""
    rounding = group.get("rounding", "stochastic")
    if not isinstance(rounding, str) or rounding not in _kernels.ROUNDING_MODES:
        raise ValueError(f"rounding must be one of {_kernels.ROUNDING_MODES}, got {rounding!r}")
    kahan = group.get("kahan_sum", False)
    if not isinstance(kahan, (bool, np.bool_)):
        raise TypeError(f"kahan_sum must be a bool, got {kahan!r}")
    if kahan:
        for i, p in enumerate(group["params"]):
            if p.dtype.name not in ("bfloat16", "float16"):
                raise ValueError(f"kahan_sum=True is for bfloat16 and float16 params; "
                                 f"params[{i}] is {p.dtype}")
    state_dtype = group.get("state_dtype")
    if state_dtype is None:
        return
    try:
        name = np.dtype(state_dtype).name
    except TypeError:
        name = str(state_dtype)
    if name not in STATE_DTYPES:
        raise ValueError(f"state_dtype must be None (the params' dtype) or one of "
                         f"{STATE_DTYPES}, got {state_dtype!r}")
    if name == "bfloat16":
        _bfloat16()                     # needs ml_dtypes: say so now, not at the first step
    group["state_dtype"] = name
    for i, p in enumerate(group["params"]):
        if p.dtype == np.float64:
            raise ValueError(f"state_dtype={name!r} is for float32 and 16-bit params; "
                             f"params[{i}] is float64 (float64 keeps float64 state)")


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError("bfloat16 storage needs ml_dtypes (pip install 'pywd[lowp]')") from None
    return np.dtype(ml_dtypes.bfloat16)


def _state_dtype(group, param):
    """The dtype of a parameter's state arrays: its group's state_dtype, else its own (of
    an 8-bit group: float32, for the parameters too small for 8 bits; see _eight_bit)."""
    name = group.get("state_dtype")
    if name is None:
        return param.dtype
    if name == "8bit":
        return np.dtype(np.float32)
    return _bfloat16() if name == "bfloat16" else np.dtype(name)


def _eight_bit(group, param, min_size):
    """Whether a parameter's state is 8-bit: its group asks (state_dtype="8bit") and it has
    at least min_size elements."""
    return group.get("state_dtype") == "8bit" and param.size >= min_size


def _fortran(a):
    return a.flags.f_contiguous and not a.flags.c_contiguous


def _count_entry(entries, key, default, limit):
    """An optional int entry of a state_dict in [0, limit), or default when absent."""
    value = entries.get(key)
    if value is None:
        return default
    if value.shape != () or value.dtype.kind not in "iu" or not 0 <= int(value) < limit:
        raise ValueError(f"state_dict[{key!r}] must be an int in [0, {limit}), got {value!r}")
    return int(value)


def _moment_hyper(group):
    """The update function's arguments of a group of an Adam-like optimiser (Adam, Adamax,
    RAdam): lr, the betas as beta1 and beta2, eps, the decay options, maximize."""
    beta1, beta2 = _betas(group)
    return dict(_hyper_of(group, "lr", "eps"), beta1=beta1, beta2=beta2)


def _decoupled(decoupled_weight_decay, decay):
    """The decay mode for torch's decoupled_weight_decay= (Adam, RAdam, NAdam): True means
    decay="decoupled", and may not contradict another mode given with it."""
    if decoupled_weight_decay is False:
        return decay
    if decoupled_weight_decay is not True:
        raise TypeError(f"decoupled_weight_decay must be a bool, got {decoupled_weight_decay!r}")
    if decay not in ("l2", "decoupled"):
        raise ValueError(f"decoupled_weight_decay=True asks for decay='decoupled', but "
                         f"decay={decay!r} was given: pass one of them")
    return "decoupled"


def _hyper_of(group, *keys):
    """The update function's arguments of a group: its `keys`, weight_decay, decay and
    maximize as they are, and the decay options."""
    return {**{key: group[key] for key in (*keys, "weight_decay", "decay", "maximize")},
            **_decay_options(group)}


def _decay_options(group):
    """A group's max_lr (its own, else the lr it was built with) and cautious_decay, and
    the update's caution and norm_target where the class has them."""
    max_lr = group["max_lr"]
    if max_lr is None:
        max_lr = group.get("initial_lr") or None     # an lr of 0 has no ratio: lr / lr = 1
    own = {"caution": group["caution"]} if "caution" in group else {}
    if "norm_target" in group:
        own["norm_target"] = _norm_target(group["norm_target"])
    return dict(max_lr=max_lr, cautious_decay=group["cautious_decay"], **own)


def _norm_target(value):
    """A group's norm_target as the update function takes it: None, a number (checked there),
    or for "init" 0.0, a stand-in with which the update checks the decay's mode (the step
    passes each parameter's initial norm: Optimizer._calls)."""
    if isinstance(value, str):
        if value != "init":
            raise ValueError(f"norm_target must be None, a number >= 0 or 'init' (each "
                             f"parameter's norm when its group is added), got {value!r}")
        return 0.0
    return value


def _init_norms(group):
    """Each parameter's norm (in double) when a group with norm_target="init" is added."""
    if group.get("norm_target") != "init":
        return []
    return [_kernels._sum_of_squares([p]) ** 0.5 for p in group["params"]]


def _betas(group):
    """A group's (beta1, beta2), refusing anything but a pair."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return betas


def _check_nonnegative(group, name):
    value = group[name]
    if (type(value) is bool or not isinstance(value, (int, float, np.integer, np.floating))
            or not np.isfinite(value) or value < 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _empty(dtype):
    """The arrays of a hyper-parameter check: none, or one of no elements in `dtype` (so
    that the values are checked in the dtype the kernel computes in)."""
    return [] if dtype is None else [np.empty(0, dtype)]
