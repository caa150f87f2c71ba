"""Stateful optimisers built on pywd's functional kernels, with torch.optim's names.

An optimiser holds param groups (dicts of arrays and hyper-parameters) and its per-parameter
state arrays; ``step(grads)`` takes the gradients in the order of the parameters (across
groups, ``None`` for a parameter without a gradient this step) and makes one kernel call per
group and dtype. The whole step is validated before its first call, so a bad gradient or
hyper-parameter in any group leaves every array untouched.

``state_dict()`` is a flat ``{str: numpy.ndarray}`` dict, so it saves and loads as ``.npz``
without pickle::

    numpy.savez("opt.npz", **opt.state_dict())
    opt.load_state_dict(numpy.load("opt.npz"))
"""
from collections.abc import Mapping

import numpy as np

from . import _kernels
from ._kernels import sgd

__all__ = ["Optimizer", "SGD", "SGDW"]

STATE_FORMAT = "pywd.optim/1"


class Optimizer:
    """Base class: param groups, per-parameter state and a pickle-free state_dict.

    Subclasses set ``state_names`` (the per-parameter state arrays), pass their defaults to
    ``__init__``, and implement ``_check_group`` (validate a group's hyper-parameters) and
    ``_update`` (step the parameters of one group).
    """

    state_names = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        if isinstance(params, np.ndarray):
            params = [params]
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], Mapping) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Adds a group: a dict with "params" and any hyper-parameters that override the
        defaults. Extra keys are kept (but not saved by state_dict)."""
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"a param group must be a dict with a 'params' entry, got {group!r}")
        group = {**self.defaults, **group}
        params = group["params"]
        group["params"] = [params] if isinstance(params, np.ndarray) else list(params)
        if not group["params"]:
            raise ValueError(f"param group {len(self.param_groups)} has no parameters")
        self._check_group(group)
        _kernels._check_arrays(self._params() + group["params"])
        self.param_groups.append(group)

    def _params(self):
        """Every parameter, in order across groups: the order of step()'s grads."""
        return [p for group in self.param_groups for p in group["params"]]

    def _group_indices(self):
        start = 0
        for group in self.param_groups:
            yield group, range(start, start + len(group["params"]))
            start += len(group["params"])

    def step(self, grads):
        """One optimiser step, in place: ``grads[i]`` is the gradient of parameter i (in the
        order of the groups' params), or None to leave that parameter alone this step."""
        params = self._params()
        if isinstance(grads, np.ndarray):
            grads = [grads]
        if not isinstance(grads, (list, tuple)):
            raise TypeError(f"grads must be a list of arrays (one per parameter), "
                            f"got {type(grads).__name__}")
        if len(grads) != len(params):
            raise ValueError(f"grads has {len(grads)} arrays but the optimizer has "
                             f"{len(params)} parameters")
        for group in self.param_groups:
            self._check_group(group)
        _kernels._check_arrays(params, list(grads))
        for group, indices in self._group_indices():
            active = [i for i in indices if grads[i] is not None]
            if active:
                self._update(group, active, params, grads)

    def _check_group(self, group):
        raise NotImplementedError

    def _update(self, group, indices, params, grads):
        raise NotImplementedError

    # ---------------------------------------------------------------- state_dict
    def state_dict(self):
        """A flat dict of arrays (copies): ``np.savez(path, **opt.state_dict())`` saves it."""
        out = {"format": np.array(STATE_FORMAT), "optimizer": np.array(type(self).__name__)}
        for g, (group, indices) in enumerate(self._group_indices()):
            out[f"param_groups/{g}/params"] = np.array(indices, dtype=np.int64)
            for key in self.defaults:
                out[f"param_groups/{g}/{key}"] = np.array(group[key])
        for i in sorted(self.state):
            for name, value in self.state[i].items():
                out[f"state/{i}/{name}"] = np.array(value, copy=True, order="K")
        return out

    def load_state_dict(self, state_dict):
        """Loads a state_dict() (or ``numpy.load`` of a saved one, never with pickle) into
        this optimizer, which must have the same groups and parameter shapes. Everything is
        checked before anything is changed."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of str to arrays, "
                            f"got {type(state_dict).__name__}")
        entries = {key: _load_entry(state_dict, key) for key in state_dict.keys()}
        _expect_str(entries, "format", STATE_FORMAT)
        _expect_str(entries, "optimizer", type(self).__name__)
        params = self._params()
        new_groups = self._load_groups(entries)
        new_state = self._load_state(entries, params)
        known = {"format", "optimizer"} | {f"param_groups/{g}/{key}"
                                           for g in range(len(self.param_groups))
                                           for key in ["params", *self.defaults]}
        unknown = sorted(set(entries) - known - {k for k in entries if k.startswith("state/")})
        if unknown:
            raise ValueError(f"state_dict has unknown entries {unknown}")
        for group, loaded in zip(self.param_groups, new_groups):
            group.update(loaded)
        self.state = new_state

    def _load_groups(self, entries):
        n_saved = len({k.split("/")[1] for k in entries if k.startswith("param_groups/")})
        if n_saved != len(self.param_groups):
            raise ValueError(f"state_dict has {n_saved} param groups, this optimizer has "
                             f"{len(self.param_groups)}")
        loaded_groups = []
        for g, (group, indices) in enumerate(self._group_indices()):
            key = f"param_groups/{g}/params"
            saved = entries.get(key)
            if saved is None or saved.shape != (len(indices),) or list(saved) != list(indices):
                raise ValueError(f"state_dict[{key!r}] does not match this optimizer's "
                                 f"parameters {list(indices)}, got {saved!r}")
            loaded = {}
            for name, default in self.defaults.items():
                key = f"param_groups/{g}/{name}"
                if key not in entries:
                    raise ValueError(f"state_dict has no entry {key!r}")
                loaded[name] = _hyper_value(entries[key], default, key)
            self._check_group({**group, **loaded})
            loaded_groups.append(loaded)
        return loaded_groups

    def _load_state(self, entries, params):
        state = {}
        for key, value in entries.items():
            if not key.startswith("state/"):
                continue
            parts = key.split("/")
            if (len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(params)
                    or parts[2] not in self.state_names):
                raise ValueError(f"state_dict entry {key!r} is not state/<param index>/<one of "
                                 f"{list(self.state_names)}> for {len(params)} parameters")
            param = params[int(parts[1])]
            if value.dtype != param.dtype or value.shape != param.shape:
                raise ValueError(f"state_dict[{key!r}] is {value.dtype} {value.shape}, but its "
                                 f"parameter is {param.dtype} {param.shape}")
            array = np.empty_like(param)  # the parameter's memory order, as the kernels need
            array[...] = value
            state.setdefault(int(parts[1]), {})[parts[2]] = array
        return state


def _load_entry(state_dict, key):
    if not isinstance(key, str):
        raise TypeError(f"state_dict keys must be str, got {key!r}")
    try:
        value = state_dict[key]  # numpy.load's NpzFile refuses pickled objects here
    except ValueError as err:
        raise ValueError(f"state_dict[{key!r}] cannot be loaded without pickle: {err}") from None
    if not isinstance(value, np.ndarray) or value.dtype.hasobject:
        raise TypeError(f"state_dict[{key!r}] must be a numpy array of numbers or str, "
                        f"got {type(value).__name__}")
    return value


def _expect_str(entries, key, expected):
    value = entries.get(key)
    if value is None or value.shape != () or value.dtype.kind != "U" or str(value) != expected:
        raise ValueError(f"state_dict[{key!r}] must be {expected!r}, got {value!r}")


def _hyper_value(value, default, key):
    """A saved hyper-parameter as a Python bool, str or (any number) float, by the kind of
    its default: a default given as int (momentum=0) still loads a saved 0.9."""
    if isinstance(default, (bool, np.bool_)):
        kinds, kind_name, convert = "b", "bool", bool
    elif isinstance(default, str):
        kinds, kind_name, convert = "U", "str", str
    else:
        kinds, kind_name, convert = "fiu", "number", float
    if value.shape != () or value.dtype.kind not in kinds:
        raise ValueError(f"state_dict[{key!r}] must be a scalar {kind_name}, got {value!r}")
    return convert(value.item())


def _by_dtype_and(indices, params, key=lambda i: None):
    """Splits indices into runs that one kernel call can take: same dtype (and same key)."""
    runs = {}
    for i in indices:
        runs.setdefault((params[i].dtype, key(i)), []).append(i)
    return runs.items()


class SGD(Optimizer):
    """Stochastic gradient descent with momentum: ``torch.optim.SGD``, plus ``decay=``.

    Same constructor and defaults as torch (``lr=1e-3``; ``weight_decay`` acts as coupled
    L2, ``decay="l2"``), and the same steps: the first momentum step sets the buffer to the
    gradient. ``decay`` chooses another decay mode (see :func:`pywd.sgd`).

    Example::

        opt = pywd.optim.SGD([w1, w2], lr=0.1, momentum=0.9, weight_decay=1e-4)
        opt.step([g1, g2])
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, decay="l2"):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, decay=decay))

    def _check_group(self, group):
        sgd([], [], [], **self._hyper(group))  # validates the hyper-parameters only

    @staticmethod
    def _hyper(group):
        return {key: group[key] for key in ("lr", "momentum", "dampening", "weight_decay",
                                            "nesterov", "maximize", "decay")}

    def _update(self, group, indices, params, grads):
        hyper = self._hyper(group)
        if group["momentum"] == 0:
            for _, run in _by_dtype_and(indices, params):
                sgd([params[i] for i in run], [grads[i] for i in run], **hyper)
            return
        first = {i for i in indices if "momentum_buffer" not in self.state.get(i, {})}
        for i in first:  # allocated once, like torch's first-step clone of the gradient
            self.state.setdefault(i, {})["momentum_buffer"] = np.zeros_like(params[i])
        for (_, first_step), run in _by_dtype_and(indices, params, lambda i: i in first):
            sgd([params[i] for i in run], [grads[i] for i in run],
                [self.state[i]["momentum_buffer"] for i in run], first_step=first_step, **hyper)


class SGDW(SGD):
    """SGD with decoupled weight decay (Loshchilov & Hutter): :class:`SGD` with
    ``decay="decoupled"``, so the weights shrink by ``1 - lr*weight_decay`` each step
    whatever the momentum."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, decay="decoupled"):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov,
                         maximize=maximize, decay=decay)
