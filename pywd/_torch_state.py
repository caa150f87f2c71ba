"""torch.optim's state_dict format (and pywd.torch's, which adds pywd's group keys and a
"pywd" entry), converted to pywd.optim's flat one.

torch saves ``{"state": {index: {name: tensor}}, "param_groups": [{hyper-parameters...,
"params": [indices]}]}``, with parameters numbered across groups in order, as pywd numbers
them, and the same state names as pywd's classes (momentum_buffer, exp_avg, exp_avg_sq,
max_exp_avg_sq, square_avg, grad_avg, sum; step as a float tensor). So a torch optimiser's
state loads into the pywd class of the same name: the converted dict then goes through
pywd's own checks. torch does not save which class it came from; its groups' keys are
checked against the pywd class's hyper-parameters instead.
"""
from collections.abc import Mapping
from typing import Any

import numpy as np

# torch group keys that choose an implementation or are torch's spelling of `decay`: not
# hyper-parameters of pywd's groups
TORCH_ONLY = {"foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay"}
# pywd group keys torch has not: decay (from decoupled_weight_decay or pywd's group), and the
# decay options, which keep the pywd group's values
PYWD_ONLY = ("decay", "max_lr", "cautious_decay", "decay_to", "rounding", "state_dtype",
             "kahan_sum", "caution", "norm_target")


# the group key under which pywd.torch's state_dict repeats its "pywd" entry's counters
# (torch.distributed.checkpoint keeps an optimizer's groups and state, not other entries)
PYWD_RUN = "pywd_run"


def is_torch_format(state_dict: Mapping[str, Any]) -> bool:
    return "param_groups" in state_dict and "state" in state_dict


def from_torch(state_dict: Mapping[str, Any], optimizer: Any) -> dict[str, np.ndarray]:
    """``optimizer.load_state_dict``'s argument in pywd's format, from torch's."""
    from .optim._support import _saved_hyper   # optim imports this module
    name = type(optimizer).__name__
    groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(groups, (list, tuple)) or not isinstance(state, Mapping):
        raise TypeError("a torch optimizer state_dict has a list 'param_groups' and a dict "
                        "'state'")
    out = {"format": np.array("pywd.optim/1"), "optimizer": np.array(name),
           "skipped_steps": np.array(0, dtype=np.int64)}
    extra = state_dict.get("pywd")   # pywd.torch's: what a resumed run needs besides
    if extra is None:                # (through torch.distributed.checkpoint: in the groups)
        first = groups[0] if isinstance(groups, (list, tuple)) and groups else {}
        extra = first.get(PYWD_RUN, {}) if isinstance(first, Mapping) else {}
    if not isinstance(extra, Mapping):
        raise TypeError("torch state_dict['pywd'] must be a dict")
    for key in ("skipped_steps", "rounding_seed", "rounding_step"):
        if key in extra:
            out[key] = _array(extra[key], f"pywd']['{key}")
    initial_lrs = extra.get("initial_lr")
    if initial_lrs is not None and (not isinstance(initial_lrs, (list, tuple))
                                    or len(initial_lrs) != len(groups)):
        raise ValueError(f"torch state_dict['pywd']['initial_lr'] must be a list of one lr "
                         f"per param group ({len(groups)}), got {initial_lrs!r}")
    optional = optimizer.optional_hyper()    # the options that may be None
    # bitsandbytes' 8-bit optimisers save their state under BNB_KEY, and groups without the
    # options it lacks (amsgrad, maximize): those are this optimizer's own
    bnb = any(isinstance(e, Mapping) and BNB_KEY in e for e in state.values())
    for g, group in enumerate(groups):
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"torch state_dict['param_groups'][{g}] must be a dict with "
                            f"'params'")
        out[f"param_groups/{g}/params"] = np.array(group["params"], dtype=np.int64)
        lacks = optimizer.not_in_torch      # hyper-parameters torch's class does not have
        missing = [key for key in optimizer.defaults
                   if key not in PYWD_ONLY and key not in lacks and key not in group]
        if bnb:
            lacks = lacks + tuple(missing)
            missing = []
        if missing:
            raise ValueError(f"torch state_dict['param_groups'][{g}] lacks {missing}: it is "
                             f"not the state of {optimizer.torch_twin.format(name=name)}")
        mine = optimizer.param_groups[g] if g < len(optimizer.param_groups) else {}
        out[f"param_groups/{g}/decay"] = np.array(_decay(group, mine.get("decay"), g, name))
        for key in PYWD_ONLY[1:]:        # saved by pywd.torch; else this optimizer's own
            if key in optimizer.defaults:
                out[f"param_groups/{g}/{key}"] = _saved_hyper(
                    group[key] if key in group else mine.get(key, optimizer.defaults[key]))
        for key in lacks:
            if key not in group:
                out[f"param_groups/{g}/{key}"] = _saved_hyper(mine.get(key,
                                                                       optimizer.defaults[key]))
        for key, value in group.items():
            if key in TORCH_ONLY or key in PYWD_ONLY or key == "params" or \
                    key in optimizer.group_state_in_torch:
                continue
            if key == "param_names":
                out[f"param_groups/{g}/param_names"] = np.array(list(value), dtype=str)
            elif key in optimizer.defaults:
                out[f"param_groups/{g}/{key}"] = _hyper(key, value, optimizer.defaults[key],
                                                        f"param_groups'][{g}]['{key}",
                                                        optional)
            elif isinstance(value, (str, bool, int, float)):
                out[f"param_groups/{g}/extra/{key}"] = np.array(value)  # initial_lr, say
        if initial_lrs is not None and "initial_lr" not in group:  # no scheduler recorded it
            out[f"param_groups/{g}/extra/initial_lr"] = _number(
                initial_lrs[g], f"pywd']['initial_lr'][{g}")
    for index, entries in optimizer.state.items():   # torch has no anchors: keep pywd's
        if "decay_to" in entries:
            out[f"state/{index}/decay_to"] = entries["decay_to"]   # load copies it
    for index, entries in state.items():
        if not isinstance(entries, Mapping):
            raise TypeError(f"torch state_dict['state'][{index!r}] must be a dict")
        for key, value in entries.items():
            if value is None:           # older torch saved momentum_buffer=None
                continue
            where = f"state'][{index!r}]['{key}"
            if key == "step" and bnb and "step" not in optimizer.state_counters:
                continue                    # bitsandbytes' count, for a class that keeps none
            if key == "step":
                out[f"state/{index}/step"] = _step(value, where)
            elif key == BNB_KEY:
                _bnb_entries(value, index, optimizer, out)
            else:
                out[f"state/{index}/{key}"] = _array(value, where)
    _per_parameter(groups, state, optimizer, out)
    return out


BNB_KEY = "__bnb_optimizer_quant_state__"


def _bnb_entries(nested, index, optimizer, out):
    """bitsandbytes' state of a parameter (state1, state2, ... in the class's state order;
    8-bit ones, uint8, with absmax1, ... and their map qmap1, ...) as pywd's entries, each
    map checked to be the one pywd gives that state (the signed map, the unsigned one for
    non-negative state) bit for bit."""
    from ._kernels import QuantizedState
    if not isinstance(nested, Mapping):
        raise TypeError(f"torch state_dict['state'][{index!r}]['{BNB_KEY}'] must be a dict")
    known = {f"{kind}{k}" for kind in ("state", "absmax", "qmap")
             for k in range(1, len(optimizer.state_arrays) + 1)}
    # its LAMB's and LARS's scratch for the update's norm, overwritten before each use
    unknown = sorted(set(nested) - known - {"unorm_vec"})
    if unknown:
        raise ValueError(f"torch state_dict['state'][{index!r}]['{BNB_KEY}'] has entries "
                         f"{unknown} that {type(optimizer).__name__} does not keep (of "
                         f"{sorted(known)}: state1, ... in the order {optimizer.state_arrays})")
    for k, name in enumerate(optimizer.state_arrays, 1):
        where = f"state'][{index!r}]['{BNB_KEY}']['state{k}"
        if f"state{k}" not in nested:
            continue
        codes = _array(nested[f"state{k}"], where)
        out[f"state/{index}/{name}"] = codes
        if codes.dtype != np.uint8:
            continue                                 # float32: a parameter too small for 8
        signed = name not in optimizer.nonnegative_state
        want = QuantizedState.maps(signed)
        qmap = nested.get(f"qmap{k}")
        qmap = None if qmap is None else _array(qmap, where)
        if qmap is None or qmap.dtype != np.float32 or not np.array_equal(
                qmap.view(np.uint32), want.view(np.uint32)):
            raise ValueError(f"torch state_dict['{where[:-len('state1')]}qmap{k}'] is not "
                             f"pywd's {'signed' if signed else 'unsigned'} dynamic map for "
                             f"{name!r} (bitsandbytes' create_dynamic_map): codes on another "
                             f"map cannot be read")
        if f"absmax{k}" not in nested:
            raise ValueError(f"torch state_dict['{where}'] holds 8-bit codes without "
                             f"absmax{k}")
        out[f"state/{index}/{name}/absmax"] = _array(nested[f"absmax{k}"], where)


def _per_parameter(groups, state, optimizer, out):
    """The state a torch-format group keeps for all its parameters (the schedulefree
    package's k, weight_sum and lr_max) as each of its parameters' with state, where the
    parameter has none of its own (pywd.torch's dicts keep it per parameter)."""
    for g, group in enumerate(groups):
        for key, name in optimizer.group_state_in_torch.items():
            if key not in group:
                continue
            where = f"param_groups'][{g}]['{key}"
            for index in group["params"]:
                if index in state and f"state/{index}/{name}" not in out:
                    out[f"state/{index}/{name}"] = (
                        _step(group[key], where) if name in optimizer.state_counters
                        else np.asarray(_number(group[key], where), dtype=np.float64))


def _step(value, where):
    """A torch step counter (a float tensor or a number) as pywd's int64 one, or a
    ValueError naming the entry and the accepted range."""
    from .optim._support import STEP_LIMIT
    step = _number(value, where)
    if step.shape != () or step.dtype.kind not in "biuf" or step.dtype.kind == "b" or not (
            np.isfinite(step) and 0 <= step < STEP_LIMIT and step == np.floor(step)):
        raise ValueError(f"torch state_dict['{where}'] must be a whole number in [0, 2**62) "
                         f"(the steps taken), got {value!r}")
    return np.array(int(step), dtype=np.int64)


def _decay(group, mine, g, name):
    """pywd's decay mode for a torch group: the group's own "decay" when pywd.torch saved
    it; torch's says "decoupled" only through decoupled_weight_decay (Adam, AdamW);
    otherwise the pywd group's own mode stands."""
    if isinstance(group.get("decay"), str):
        return group["decay"]
    decoupled = group.get("decoupled_weight_decay")
    if mine is None:                # a group this optimizer lacks: the group count refuses it
        return "decoupled" if decoupled else "l2"
    if decoupled is None or decoupled == (mine == "decoupled"):
        return mine
    raise ValueError(f"torch state_dict['param_groups'][{g}] has decoupled_weight_decay="
                     f"{decoupled}, but this {name}'s group {g} has decay={mine!r}: load it "
                     f"into pywd.optim.{'AdamW' if decoupled else 'Adam'}")


def numpy_view(tensor: Any) -> np.ndarray:
    """A detached CPU tensor's memory as a NumPy array, no copy (bfloat16 through an int16
    view: NumPy's bfloat16 is ml_dtypes')."""
    if str(tensor.dtype) == "torch.bfloat16":
        import torch
        from .optim._support import _bfloat16
        return tensor.view(torch.int16).numpy().view(_bfloat16())
    return tensor.numpy()


def _array(value, where):
    """A tensor (or array) as a NumPy array, copied off any device."""
    try:
        if hasattr(value, "detach"):
            value = numpy_view(value.detach().cpu())
        return np.array(value)
    except (TypeError, RuntimeError) as err:
        raise TypeError(f"torch state_dict['{where}'] cannot be read as a NumPy array "
                        f"({err})") from None


def _hyper(key, value, default, where, optional):
    """A hyper-parameter of a torch group as pywd's flat state_dict saves it: None (an unset
    option, such as Muon's adjust_lr_fn) as an empty array where pywd's option may be None,
    else refused naming the key and what it takes (`optional`: the optimiser's options that
    may be None); anything else as _number reads it."""
    from .optim._support import _saved_hyper
    if value is None:
        if key not in optional:
            kind = ("a bool" if isinstance(default, bool) else "a str" if isinstance(default, str)
                    else f"{len(default)} numbers" if isinstance(default, tuple) else "a number")
            raise ValueError(f"torch state_dict['{where}'] is None: {key} must be {kind}")
        return _saved_hyper(None)
    return _number(value, where)


def _number(value, where):
    """A hyper-parameter or step (a Python number, a tuple such as betas, or a 0-d tensor);
    None in a tuple (Adafactor's eps1) saved as NaN, as _saved_hyper does."""
    if isinstance(value, (tuple, list)):
        return np.array([np.nan if v is None else float(_array(v, where)) for v in value])
    return _array(value, where)
