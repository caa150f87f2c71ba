"""Every optimiser class documents every option it takes: its docstring (what it is, its
equation) is followed by a Parameters section made here, each option's entry taken from the
functional update of the same name (pywd.adamw for AdamW: the texts users read there), or,
for what only the classes take, from CLASS_ENTRIES below. pywd.torch's classes reuse the
section with torch's params."""
import inspect
import re
import textwrap

from .. import _kernels

# Entries for the options the classes take differently from the functions, or only they.
CLASS_ENTRIES = {
    "lr": """\
lr : float
    Learning rate, >= 0 (each group's own; schedulers move it).""",
    "betas": """\
betas : (float, float)
    The two decay rates (beta1, beta2), each in [0, 1).""",
    "amsgrad": """\
amsgrad : bool
    Use the running maximum of the second moment (Reddi et al. 2018; state
    ``max_exp_avg_sq``).""",
    "params": """\
params : iterable of arrays, of (name, array) pairs, or of param-group dicts
    The parameters, updated in place: float32 or float64 arrays (or bfloat16/float16,
    computed in float32), or array-likes sharing their memory (a torch CPU tensor);
    named as ``model.named_parameters()`` gives them, ``step`` takes gradients by name;
    a dict is a param group, ``{"params": [...], "weight_decay": 0.0, ...}``, its keys
    overriding the defaults below (other keys, a name say, are kept).""",
    "max_lr": """\
max_lr : float, optional
    The lr that "independent" and "corrected" decay are relative to, finite and > 0. None
    (the default): each group's ``initial_lr``, the lr it was built with (or the one a
    scheduler recorded), so the decay follows any schedule that moves the lr.""",
    "decay_to": """\
decay_to : "init", arrays like the params, or None
    Decay pulls toward an anchor ``w0`` instead of toward 0 (L2-SP, Li et al. 2018): "init"
    takes a copy of the params when the group is added; arrays are kept as they are (only
    read). Every rule acts on ``w - w0``; the anchors are the read-only state "decay_to",
    saved by ``state_dict``. One more array read per element.""",
    "norm_target": """\
norm_target : float, "init" or None
    Weight-norm control (Loshchilov 2023, AdamWN for Adam): the multiplicative decay pulls
    each parameter's norm toward this target instead of toward 0, ``w *= 1 - rate * (1 -
    target / |w|)``: a number for every parameter of the group, or "init", each
    parameter's norm when the group is added (state "init_norm", saved by ``state_dict``).
    A schedule sets ``group["norm_target"]`` before a step (pywd's lr schedulers with
    ``field="norm_target"``). The
    norm is taken in a first pass of the step. Needs a multiplicative ``decay``, no
    ``decay_to``, no ``cautious_decay``.""",
    "rounding": """\
rounding : {"stochastic", "nearest"}, default "stochastic"
    How values written to bfloat16 or float16 params and state are rounded (per group;
    ignored for float32 and float64). The update is computed in float32 and each stored
    value rounded once; "stochastic" rounds up with probability the fraction of the gap,
    so small updates accumulate; "nearest" ties to even.""",
    "state_dtype": """\
state_dtype : None, "float32", "bfloat16", "float16" or "8bit"
    Storage of the state arrays (per group): None keeps the params' dtype; a 16-bit one
    halves their bytes for float32 params (float64 params keep float64 state); "8bit"
    keeps each state array of a parameter of at least ``min_8bit_size`` (4096) elements in
    bitsandbytes' blockwise 8-bit format (:class:`pywd.QuantizedState`: a quarter of
    float32's bytes; second moments on the unsigned map), the smaller ones in float32.""",
    "kahan_sum": """\
kahan_sum : bool, default False
    For 16-bit params (per group): round them to nearest and keep what the rounding lost in
    a Kahan compensation per parameter (state "compensation"), so small updates accumulate
    without random bits.""",
    "rng": """\
rng : int, pywd.Generator or None
    Stochastic rounding's seed: an int, a Generator's seed, or None for one drawn from the
    default generator (``pywd.seed`` makes runs repeat). Saved by ``state_dict`` with the
    steps taken, so a resumed run rounds as an uninterrupted one.""",
    "etas": """\
etas : (float, float), default (0.5, 1.2)
    Rprop's factors (eta-, eta+) that shrink a step size where the gradient's sign flips
    and grow it where it holds, 0 < eta- < 1 < eta+.""",
    "initial_accumulator_value": """\
initial_accumulator_value : float, default 0
    The value each sum of squared gradients starts at, >= 0.""",
    "warmup_steps": """\
warmup_steps : int, default 0
    The lr rises linearly over this many steps (the schedule-free package's warmup).""",
    "r": """\
r : float, default 0
    Step k weighs k**r in the average x (the package's polynomial weighting).""",
    "weight_lr_power": """\
weight_lr_power : float, default 2
    Step k's weight in the average x has a factor lr_max**weight_lr_power (the largest lr
    so far), >= 0.""",
    "decoupled_weight_decay": """\
decoupled_weight_decay : bool, default False
    torch's switch: True means ``decay="decoupled"`` (AdamW's rule).""",
    "torch_options": """\
foreach, fused, capturable, differentiable : bool or None
    torch's implementation switches, accepted so that ported code runs, and ignored: pywd
    has one implementation, one fused C call per list of arrays (``differentiable=True`` is
    refused: no autograd graph sees a NumPy update).""",
}
TORCH_PARAMS = """\
params : iterable of torch.Tensor, of (name, tensor) pairs, or of param-group dicts
    The model's parameters (``model.parameters()``, ``model.named_parameters()`` or
    groups), dense CPU tensors of float32, float64, float16 or bfloat16, updated in place
    through NumPy views of their memory (nothing copied); a group's keys override the
    defaults below."""


def entries(doc):
    """The Parameters section of a numpydoc docstring: {name: entry text (dedented)}, an
    entry naming several ("beta1, beta2 : float") under each of its names."""
    text = textwrap.dedent("\n" + doc.split("\n", 1)[1]) if "\n" in doc else ""
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", text, re.M | re.S)
    out = {}
    if match is None:
        return out
    for block in re.split(r"\n(?=\S)", match.group(1).strip("\n")):
        header = block.split("\n", 1)[0]
        if " : " not in header:
            continue
        for name in header.split(" : ", 1)[0].split(","):
            out[name.strip()] = block.rstrip()
    return out


def parameters_section(cls, functionals, params=None):
    """The Parameters section of optimiser class `cls`, its entries from CLASS_ENTRIES and
    the docstrings of `functionals` (the first that has the option) (`params`: another
    params entry); a KeyError names an option none documents."""
    known = {}
    for functional in reversed(functionals):
        known.update(entries(functional.__doc__ or ""))
    options = inspect.signature(cls).parameters
    blocks = []
    for name, parameter in options.items():
        if parameter.kind is parameter.VAR_KEYWORD:
            name = "torch_options"
        if name == "params" and params is not None:
            block = params
        elif name == "torch_options":
            block = CLASS_ENTRIES[name]
        elif name in CLASS_ENTRIES:
            block = _with_default(CLASS_ENTRIES[name], [name], [parameter.default])
        elif name in known:
            # an entry of several options ("trust_clip, always_adapt : bool"): once, with
            # those the class takes
            names = [n.strip() for n in known[name].split(" : ", 1)[0].split(",")
                     if n.strip() in options]
            block = _with_default(known[name], names, [options[n].default for n in names])
        else:
            raise KeyError(f"{cls.__name__}'s option {name!r} is documented nowhere")
        if block not in blocks:
            blocks.append(block)
    return "Parameters\n----------\n" + "\n".join(blocks) + "\n"


def _with_default(block, names, defaults):
    """A functional's entry for a class's options `names`: its header names them, with the
    class's default where they share one (the function's may differ: LARS takes SGD's
    texts)."""
    header, _, body = block.partition("\n")
    kind = re.sub(r",? *default .*$", "", header.split(" : ", 1)[1])
    default = defaults[0]
    if default is not inspect.Parameter.empty and default is not None and all(
            d == default for d in defaults):
        kind += f", default {_literal(default)}"
    return f"{', '.join(names)} : {kind}\n{body}"


def _literal(value):
    """A default as the docstrings write it: strings in double quotes."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def document(cls, functionals):
    """`cls`'s docstring with its Parameters section (once: a subclass redone keeps one)."""
    first, _, rest = (cls.__doc__ or "").partition("\n")
    own = textwrap.dedent("\n" + rest).strip("\n")
    own = own.split("\nParameters\n----------\n")[0].rstrip()
    section = textwrap.indent(parameters_section(cls, functionals), "    ")
    cls.__doc__ = f"{first}\n{textwrap.indent(own, '    ')}\n\n{section}" if own else \
        f"{first}\n\n{section}"


def functionals(cls):
    """The functional updates whose docstrings document `cls`'s options: its own (AdamW's
    adamw, SGDScheduleFree's sgd_schedulefree), then sgd's."""
    name = re.sub("ScheduleFree$", "_schedulefree", cls.__name__).lower()
    # then sgd's, whose texts the others refer to ("weight_decay, decay, ...: as sgd")
    return [getattr(_kernels, n) for n in dict.fromkeys([name, "sgd"])]
