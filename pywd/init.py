"""Initialisers, in place, with torch.nn.init's names and parameters (they return the array).

Why initialisation matters: hidden weights that start equal (all zeros, or any constant) get
equal gradients and stay equal, so a layer of n units learns like one unit; weights too small
or too large make activations and gradients vanish or explode through depth, kill ReLUs or
saturate sigmoids. The schemes here keep the variance of activations (Glorot & Bengio 2010,
"xavier"; LeCun 1998) or of ReLU activations (He et al. 2015, "kaiming") constant through
layers, or make weight matrices orthogonal (Saxe et al. 2014) or the identity (Le, Jaitly &
Hinton 2015, for recurrent weights).

Random initialisers take ``rng=``: an int seed, a :class:`pywd.Generator`, or None (the
default generator, reseeded by :func:`pywd.seed`). Their values depend only on the generator
and on each element's index in the array's logical (C) order: the same bytes whatever the
thread count, memory order, or split into shards (``offset=``, see :class:`pywd.Generator`).

Arrays must be float32 or float64, C- or F-contiguous and writeable (an object NumPy views
without a copy, such as a CPU torch tensor, is filled through that view and returned); anything
else raises TypeError/ValueError before the array is touched. Weights are ``(out, in, *kernel)`` as in
torch; ``layout=`` reads NumPy's ``x @ W`` weights ``(in, out)`` ("numpy"), Keras'
``(*kernel, in, out)`` and transposed-convolution layouts, and :func:`set_layout` (or the
:func:`default_layout` context manager) sets the layout once for calls that give none.
"""
import contextlib
import functools
import math
import numbers
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, Union

import numpy as np
import numpy.typing as npt

from . import _kernels
from ._generator import Generator, as_generator
from ._typing import TensorT

Rng = Union[int, Generator, None]          # rng=: a seed, a generator, or the default one
Layout = Literal["torch", "torch_transposed", "numpy", "keras", "keras_transposed"]
FanMode = Literal["fan_in", "fan_out"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
Array = npt.NDArray[Any]                   # what a fill's body works on (after _in_place)
_P = ParamSpec("_P")

__all__ = [
    "calculate_gain", "compute_fans", "uniform_", "normal_", "trunc_normal_", "constant_",
    "zeros_", "ones_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "lecun_uniform_", "lecun_normal_", "orthogonal_",
    "sparse_", "martens_sparse_", "variance_scaling_", "set_layout", "default_layout",
]

# Keras: the std of a unit normal truncated to [-2, 2] is 0.8796..., so variance_scaling's
# "truncated_normal" divides its std by it to keep the intended variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978

LAYOUTS = ("torch", "torch_transposed", "numpy", "keras", "keras_transposed")
# The layout used where a call gives none: set_layout() or the default_layout() context.
_default: dict[str, Any] = {"layout": "torch"}


def set_layout(layout: Layout) -> Layout:
    """Sets the weight layout that the fan-based initialisers and compute_fans use when a
    call gives no ``layout=``; returns the previous one. "torch" ``(out, in, *kernel)`` is
    the default; a NumPy model computing ``x @ W`` has W of shape ``(in, out)``: "numpy"
    (the same as "keras", ``(*kernel, in, out)``).

    NumPy equivalent: none (a setting, as ``numpy.set_printoptions``). torch has one layout.
    """
    previous = _default["layout"]
    _default["layout"] = _choice(layout, "layout", LAYOUTS)
    return previous


@contextlib.contextmanager
def default_layout(layout: Layout) -> Iterator[None]:
    """``with pywd.init.default_layout("numpy"): ...``: set_layout for the block only.

    NumPy equivalent: ``numpy.printoptions`` (the context manager of a setting). torch: none.
    """
    previous = set_layout(layout)
    try:
        yield
    finally:
        _default["layout"] = previous


def _layout(layout):
    return _default["layout"] if layout is None else _choice(layout, "layout", LAYOUTS)


# ----------------------------------------------------------------------------- checks
def _in_place(fill: Callable[Concatenate[Array, _P], Array]
              ) -> Callable[Concatenate[TensorT, _P], TensorT]:
    """Lets a fill take any object NumPy can view without a copy (a CPU torch tensor, an
    object with __array_interface__): it fills the view and returns the object itself. A
    tensor that requires grad (a torch Parameter) is filled through its detached view, as
    torch's initialisers write under no_grad."""
    def wrapper(tensor: TensorT, /, *args: _P.args, **kwargs: _P.kwargs) -> TensorT:
        target: Any = tensor
        if getattr(tensor, "requires_grad", False) is True and hasattr(tensor, "detach"):
            target = tensor.detach()           # the same memory, outside autograd
        fill(_kernels._as_view(target, "tensor"), *args, **kwargs)
        return tensor
    functools.update_wrapper(wrapper, fill)
    return wrapper


def _check_tensor(tensor, min_dims=0, max_dims=None, scheme=None):
    # (an ndarray by now: _in_place made the view; non-arrays were refused there)
    _kernels._check_arrays(tensor, name="tensor")      # dtype, layout, writeable, aligned
    if tensor.ndim < min_dims or (max_dims is not None and tensor.ndim > max_dims):
        wanted = f"{min_dims} to {max_dims}" if max_dims is not None else f"at least {min_dims}"
        raise ValueError(f"{scheme or 'this initialiser'} needs a tensor with {wanted} "
                         f"dimensions, got shape {tensor.shape}")


def _real(value, name, low=-math.inf, high=math.inf, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (math.isfinite(value) and (low < value if low_open else low <= value) and value <= high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high != math.inf:
            bound = f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def _choice(value, name, options):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {tuple(options)}, got {value!r}")
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def _offset(offset):
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or offset < 0:
        raise ValueError(f"offset must be an int >= 0, got {offset!r}")
    return int(offset)


# ----------------------------------------------------------------------------- fills
_sharding = threading.local()    # .shard while pywd.distributed fills a shard of a tensor
_checking = threading.local()    # .on while pywd.distributed checks a fill's arguments


class _ArgumentsChecked(Exception):
    """Raised where a fill would first write (or advance its generator) while only its
    arguments are being checked: every check of a pywd.init function comes before that."""


@contextlib.contextmanager
def _check_only():
    """Inside, a pywd.init fill checks its arguments and raises _ArgumentsChecked instead
    of writing: pywd.distributed.init_sharded_'s ranks agree on a fill before any
    collective (a rank refusing its arguments left the others waiting)."""
    previous = getattr(_checking, "on", False)
    _checking.on = True
    try:
        yield
    finally:
        _checking.on = previous


def _before_write():
    if getattr(_checking, "on", False):
        raise _ArgumentsChecked


@contextlib.contextmanager
def _only_elements(tensor, lo, hi):
    """A random fill of `tensor` inside draws only its elements [lo, hi) (C order), as one
    process filling the whole tensor would: pywd.distributed.init_sharded_'s shard. Other
    arrays (orthogonal_'s scratch matrix) are filled whole."""
    previous = getattr(_sharding, "shard", None)
    _sharding.shard = (tensor.__array_interface__["data"][0], tensor.shape, lo, hi)
    try:
        yield
    finally:
        _sharding.shard = previous


def _fill(tensor: Array, kind, rng, offset, a, b=0.0, c=0.0, d=0.0):
    """One C fill, after every check: the generator advances only when the fill happens.
    Values follow the logical (C) order, so an F-ordered array gets the same values as a
    C-ordered one (it is filled through a C-ordered copy)."""
    gen = as_generator(rng)
    if offset + tensor.size >= 1 << 64:
        # element indices (offset + i) and the end of the range are 64-bit counters: past
        # 2**64 they would wrap onto the virtual tensor's first elements, so it is refused
        raise ValueError(f"offset + tensor.size must be < 2**64 (element indices are 64-bit), "
                         f"got offset={offset} for {tensor.size} elements")
    _before_write()
    per_block = 4 if tensor.dtype == np.float32 else 2
    position = gen._claim(offset, tensor.size, per_block)
    shard = getattr(_sharding, "shard", None)
    if (shard is not None and tensor.flags.c_contiguous and
            shard[:2] == (tensor.__array_interface__["data"][0], tensor.shape)):
        lo, hi = shard[2:]
        _kernels._fill(tensor.reshape(-1)[lo:hi], kind, gen.seed, position, offset + lo,
                       a, b, c, d)
    elif tensor.flags.c_contiguous:
        _kernels._fill(tensor, kind, gen.seed, position, offset, a, b, c, d)
    else:
        staging = np.empty(tensor.shape, tensor.dtype)
        _kernels._fill(staging, kind, gen.seed, position, offset, a, b, c, d)
        tensor[...] = staging
    return tensor


@_in_place
def uniform_(tensor: Array, a: float = 0.0, b: float = 1.0, *, rng: Rng = None,
             offset: int = 0) -> Array:
    """Fills with U(a, b), in place: values in [a, b). torch: ``nn.init.uniform_``.

    NumPy equivalent: ``tensor[...] = rng.uniform(a, b, tensor.shape)`` (other numbers).
    ``offset``: the index of this array's first element in a larger virtual tensor (shards).
    """
    _check_tensor(tensor)
    a, b = _real(a, "a"), _real(b, "b")
    if a > b:
        raise ValueError(f"uniform_ needs a <= b, got a={a!r}, b={b!r}")
    return _fill(tensor, "uniform", rng, _offset(offset), a, b)


@_in_place
def normal_(tensor: Array, mean: float = 0.0, std: float = 1.0, *, rng: Rng = None,
            offset: int = 0) -> Array:
    """Fills with N(mean, std^2), in place (Box-Muller). torch: ``nn.init.normal_``.

    NumPy equivalent: ``tensor[...] = rng.normal(mean, std, tensor.shape)`` (other numbers).
    """
    _check_tensor(tensor)
    mean, std = _real(mean, "mean"), _real(std, "std", 0.0)
    return _fill(tensor, "normal", rng, _offset(offset), mean, std)


@_in_place
def trunc_normal_(tensor: Array, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, *, rng: Rng = None, offset: int = 0) -> Array:
    """Fills with N(mean, std^2) truncated to [a, b], in place, by the inverse CDF (no
    redraws). As torch's ``nn.init.trunc_normal_``, ``a`` and ``b`` are absolute bounds, not
    multiples of std. The std of the result is smaller than ``std``: 0.8796 std for
    [mean - 2 std, mean + 2 std].

    NumPy equivalent: ``rng.normal(mean, std, shape)``, redrawing values outside [a, b]
    (other numbers, same distribution). torch: ``nn.init.trunc_normal_(tensor, mean, std, a, b)``.
    """
    _check_tensor(tensor)
    mean, std = _real(mean, "mean"), _real(std, "std", 0.0, low_open=True)
    a, b = _real(a, "a"), _real(b, "b")
    if not a < b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a!r}, b={b!r}")
    return _fill(tensor, "trunc_normal", rng, _offset(offset), mean, std, a, b)


@_in_place
def constant_(tensor: Array, val: float) -> Array:
    """Fills with ``val``, in place. NumPy: ``tensor[...] = val``. torch: ``constant_``."""
    _check_tensor(tensor)
    val = _real(val, "val")
    _before_write()
    _kernels._fill(tensor, "constant", 0, 0, 0, val)
    return tensor


@_in_place
def zeros_(tensor: Array) -> Array:
    """Fills with 0, in place (never for hidden weights: equal units stay equal).

    NumPy: ``tensor[...] = 0``. torch: ``nn.init.zeros_``.
    """
    return constant_(tensor, 0.0)


@_in_place
def ones_(tensor: Array) -> Array:
    """Fills with 1, in place.

    NumPy: ``tensor[...] = 1``. torch: ``nn.init.ones_``.
    """
    return constant_(tensor, 1.0)


@_in_place
def eye_(tensor: Array, gain: float = 1.0) -> Array:
    """The (rectangular) identity times ``gain``, in place: ``tensor[i, i] = gain``, zeros
    elsewhere. torch: ``nn.init.eye_`` (which has no gain). Le, Jaitly & Hinton 2015 start
    ReLU RNNs' recurrent weights here.

    NumPy equivalent: ``tensor[...] = gain * np.eye(*tensor.shape)``.
    """
    _check_tensor(tensor, 2, 2, "eye_")
    gain = _real(gain, "gain")
    constant_(tensor, 0.0)
    k = min(tensor.shape)
    tensor[np.arange(k), np.arange(k)] = gain
    return tensor


@_in_place
def dirac_(tensor: Array, groups: int = 1) -> Array:
    """The Dirac delta for a 3-, 4- or 5-D convolution weight, in place, as torch's
    ``nn.init.dirac_``: each output channel (of each group) passes its input channel through
    unchanged: ``tensor[g*out_per_group + d, d, centre...] = 1``.

    NumPy equivalent: ``tensor[...] = 0``, then those ones set by indexing.
    """
    _check_tensor(tensor, 3, 5, "dirac_")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"groups must be an int >= 1, got {groups!r}")
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_ needs the output channels ({tensor.shape[0]}) to divide "
                         f"by groups ({groups})")
    constant_(tensor, 0.0)
    if tensor.size == 0:               # no element, so no centre to set
        return tensor
    out_per_group = tensor.shape[0] // groups
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, tensor.shape[1])):
            tensor[(g * out_per_group + d, d) + centre] = 1.0
    return tensor


# ----------------------------------------------------------------------------- fans, gains
def compute_fans(shape: Sequence[int], layout: Layout | None = None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape.

    ``layout`` (default: set_layout's, "torch" unless changed): "torch" ``(out, in,
    *kernel)`` (torch Linear and Conv), "numpy" ``(in, out)`` (``x @ W``; the same as
    "keras"), "torch_transposed"
    ``(in, out, *kernel)`` (torch ConvTranspose), "keras" ``(*kernel, in, out)`` (Keras Dense
    and Conv), "keras_transposed" ``(*kernel, out, in)`` (Keras ConvTranspose). Each fan is
    its channel count times the kernel's size. torch needs 2+ dimensions; the Keras layouts
    take 1-D (fan_in = fan_out = length) and 0-D (1, 1) too, as Keras does.

    NumPy equivalent (torch layout): ``fan_in = shape[1] * prod(shape[2:])``,
    ``fan_out = shape[0] * prod(shape[2:])``. torch: ``nn.init._calculate_fan_in_and_fan_out``.
    """
    layout = _layout(layout)
    shape = _dimensions(shape)
    if layout.startswith("torch"):
        if len(shape) < 2:
            raise ValueError(f"fans need a shape with at least 2 dimensions for layout "
                             f"{layout!r}, got {shape}")
        receptive = math.prod(shape[2:])
        first, second = shape[0] * receptive, shape[1] * receptive
        fan_out, fan_in = (first, second) if layout == "torch" else (second, first)
    else:
        if len(shape) < 2:
            n = shape[0] if shape else 1
            return n, n
        receptive = math.prod(shape[:-2])
        first, second = shape[-2] * receptive, shape[-1] * receptive
        fan_in, fan_out = (first, second) if layout in ("keras", "numpy") else (second, first)
    return fan_in, fan_out


def _dimensions(shape):
    """A shape as a tuple of ints >= 0 (a float or negative dimension is a caller's bug)."""
    try:
        dims = tuple(shape) if not isinstance(shape, (str, bytes)) else None
    except TypeError:
        dims = None
    if dims is None:
        raise TypeError(f"shape must be a sequence of ints, got {type(shape).__name__}")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape must be a sequence of ints, got {shape!r}")
        if d < 0:
            raise ValueError(f"shape must have dimensions >= 0, got {shape!r}")
    return tuple(int(d) for d in dims)


_GAINS = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0,
    "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 3.0 / 4.0,
    # not in torch: 1/sqrt(E[f(z)^2]) for z ~ N(0, 1), the criterion that gives torch's
    # sqrt(2) for ReLU (computed by quadrature; tests/test_init.py recomputes them)
    "gelu": 1.5335304412245632, "silu": 1.676532470362826,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: torch's table (linear and conv 1,
    sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)) with slope
    ``param`` (default 0.01), selu 3/4), plus gelu (1.5335) and silu (1.6765).

    torch: ``nn.init.calculate_gain``. NumPy has no equivalent: these are the constants.
    """
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _real(param, "param")
        if abs(slope) < 1e150:                 # torch's expression, to the last bit
            return math.sqrt(2.0 / (1 + slope ** 2))
        return math.sqrt(2.0) / abs(slope)     # the same where slope^2 would overflow
    if nonlinearity not in _GAINS:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}: one of "
                         f"{tuple(_GAINS) + ('leaky_relu',)}")
    return _GAINS[nonlinearity]


def _fan(tensor, mode, layout, scheme):
    layout = _layout(layout)
    _check_tensor(tensor, 2 if layout.startswith("torch") else 1, None, scheme)
    _choice(mode, "mode", ("fan_in", "fan_out", "fan_avg"))
    fan_in, fan_out = compute_fans(tensor.shape, layout)
    if tensor.size == 0:
        return 1.0          # a zero-size fill does nothing; avoid dividing by a zero fan
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


# ----------------------------------------------------------------------------- schemes
@_in_place
def xavier_uniform_(tensor: Array, gain: float = 1.0, *, rng: Rng = None,
                    layout: Layout | None = None) -> Array:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), so the
    variance of activations and of gradients is kept through tanh/sigmoid-like layers.
    torch: ``nn.init.xavier_uniform_``.

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``a = gain * np.sqrt(6 / (fan_in + fan_out))``;
    ``tensor[...] = rng.uniform(-a, a, shape)`` (other numbers).
    """
    std = _real(gain, "gain") * math.sqrt(1.0 / _fan(tensor, "fan_avg", layout, "xavier_uniform_"))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, "uniform", rng, 0, -bound, bound)


@_in_place
def xavier_normal_(tensor: Array, gain: float = 1.0, *, rng: Rng = None,
                   layout: Layout | None = None) -> Array:
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
    torch: ``nn.init.xavier_normal_``.

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``tensor[...] = rng.normal(0, gain * np.sqrt(2 / (fan_in + fan_out)),
    shape)`` (other numbers).
    """
    std = _real(gain, "gain") * math.sqrt(1.0 / _fan(tensor, "fan_avg", layout, "xavier_normal_"))
    return _fill(tensor, "normal", rng, 0, 0.0, std)


def _kaiming_std(tensor, a, mode, nonlinearity, layout, scheme):
    _choice(mode, "mode", ("fan_in", "fan_out"))
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode, layout, scheme))


@_in_place
def kaiming_uniform_(tensor: Array, a: float = 0.0, mode: FanMode = "fan_in",
                     nonlinearity: str = "leaky_relu", *, rng: Rng = None,
                     layout: Layout | None = None) -> Array:
    """He et al. (2015): U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain from
    ``calculate_gain(nonlinearity, a)`` (a: the leaky ReLU slope): keeps the variance of
    ReLU activations ("fan_in") or of gradients ("fan_out"). torch: ``kaiming_uniform_``.

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``b = np.sqrt(3) * gain / np.sqrt(fan)``;
    ``tensor[...] = rng.uniform(-b, b, shape)`` (other numbers). torch: ``nn.init.kaiming_uniform_``.
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, layout,
                                          "kaiming_uniform_")
    return _fill(tensor, "uniform", rng, 0, -bound, bound)


@_in_place
def kaiming_normal_(tensor: Array, a: float = 0.0, mode: FanMode = "fan_in",
                    nonlinearity: str = "leaky_relu", *, rng: Rng = None,
                    layout: Layout | None = None) -> Array:
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan). torch: ``kaiming_normal_``.

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``tensor[...] = rng.normal(0, gain / np.sqrt(fan), shape)`` (other
    numbers). torch: ``nn.init.kaiming_normal_``.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, layout, "kaiming_normal_")
    return _fill(tensor, "normal", rng, 0, 0.0, std)


@_in_place
def variance_scaling_(tensor: Array, scale: float = 1.0,
                      mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in",
                      distribution: Distribution = "truncated_normal", *, rng: Rng = None,
                      layout: Layout | None = None) -> Array:
    """Keras' VarianceScaling: variance ``scale / n`` with n the fan of ``mode``
    ("fan_in", "fan_out", "fan_avg"), drawn from ``distribution``:
    "truncated_normal" (std sqrt(scale/n) / 0.8796, cut at 2 std, so the variance is as
    asked), "untruncated_normal" (std sqrt(scale/n)) or "uniform" (U(-l, l),
    l = sqrt(3 scale/n)). Covers Glorot (scale 1, fan_avg), He (scale 2, fan_in) and LeCun
    (scale 1, fan_in).

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent ("untruncated_normal"): ``tensor[...] = rng.normal(0, np.sqrt(scale / n),
    shape)``. torch has no such function: the default is ``nn.init.trunc_normal_(t, std=s,
    a=-2*s, b=2*s)`` with ``s = sqrt(scale / n) / 0.8796``. Keras: ``VarianceScaling``.
    """
    scale = _real(scale, "scale", 0.0, low_open=True)
    _choice(distribution, "distribution", ("truncated_normal", "untruncated_normal", "uniform"))
    variance = scale / max(1.0, _fan(tensor, mode, layout, "variance_scaling_"))
    if distribution == "truncated_normal":
        std = math.sqrt(variance) / TRUNCATED_NORMAL_STD
        return _fill(tensor, "trunc_normal", rng, 0, 0.0, std, -2.0 * std, 2.0 * std)
    if distribution == "untruncated_normal":
        return _fill(tensor, "normal", rng, 0, 0.0, math.sqrt(variance))
    limit = math.sqrt(3.0 * variance)
    return _fill(tensor, "uniform", rng, 0, -limit, limit)


@_in_place
def lecun_uniform_(tensor: Array, *, rng: Rng = None, layout: Layout | None = None) -> Array:
    """LeCun et al. (1998): U(-l, l) with l = sqrt(3 / fan_in) (Keras' lecun_uniform), for
    SELU networks and linear layers.

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``l = np.sqrt(3 / fan_in)``; ``tensor[...] = rng.uniform(-l, l, shape)``.
    torch equivalent: ``nn.init.kaiming_uniform_(t, nonlinearity="linear")`` (the same bound).
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", rng=rng, layout=layout)


@_in_place
def lecun_normal_(tensor: Array, *, rng: Rng = None, layout: Layout | None = None) -> Array:
    """LeCun et al. (1998): truncated normal with variance 1 / fan_in (Keras' lecun_normal).

    Fans read the weight as torch lays it out, ``(out, in, *kernel)``, unless ``layout=``
    (or :func:`set_layout`) says otherwise: for a NumPy ``x @ W`` weight of shape
    ``(in, out)``, pass ``layout="numpy"`` (Keras' ``(*kernel, in, out)``:
    ``layout="keras"``).

    NumPy equivalent: ``rng.normal(0, s, shape)`` with ``s = 1 / np.sqrt(fan_in) / 0.8796``,
    redrawn outside [-2s, 2s]. torch equivalent: ``nn.init.trunc_normal_(t, std=s, a=-2*s,
    b=2*s)``.
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", rng=rng, layout=layout)


@_in_place
def orthogonal_(tensor: Array, gain: float = 1.0, *, rng: Rng = None) -> Array:
    """A (semi-)orthogonal matrix times ``gain``, in place (Saxe, McClelland & Ganguli 2014),
    as torch's ``nn.init.orthogonal_``: the tensor is viewed as (shape[0], rest), and rows or
    columns of the result (whichever are fewer) are orthonormal, drawn uniformly (Haar) from
    all such matrices.

    torch QR-factorises a normal matrix and gives Q's columns the signs of R's diagonal.
    pywd draws the same matrix in distribution from as many normal draws, in a third of the
    arithmetic: the product of the Householder reflections that such a QR would find
    (Stewart 1980), applied in blocks of 128 with matrix products. ``pywd.reference.haar_columns``
    applies them one at a time; the result is orthogonal to the tensor's precision.

    Unlike the other fills, its last bits depend on NumPy's BLAS (its build and thread
    count, e.g. ``OPENBLAS_NUM_THREADS``), which orders the products' sums: the same seed
    gives the same matrix to within rounding, and the same bytes for the same BLAS setup.

    NumPy equivalent: ``q, r = np.linalg.qr(rng.normal(size=(rows, cols)))``;
    ``tensor[...] = gain * q * np.sign(np.diag(r))`` (for rows >= cols).
    """
    _check_tensor(tensor, 2, None, "orthogonal_")
    gain = _real(gain, "gain")
    rows = tensor.shape[0]
    cols = tensor.size // rows if rows else 0
    if tensor.size == 0:
        return tensor
    normals = np.empty((max(rows, cols), min(rows, cols)), tensor.dtype)
    _fill(normals, "normal", rng, 0, 0.0, 1.0)
    q, scale = _haar_columns(normals)
    scale *= gain
    q, scale = (q.T, scale[:, None]) if rows < cols else (q, scale[None, :])
    # the reflections' signs and the gain, applied while writing the result: one pass
    if tensor.flags.c_contiguous:
        np.multiply(q, scale, out=tensor.reshape(rows, cols))
    else:                              # an F-ordered tensor's reshape would be a copy
        tensor[...] = (q * scale).reshape(tensor.shape)
    return tensor


HAAR_BLOCK = 128    # reflections per block: 2048x2048 float32 fastest at 128 (64: 1.2x slower)


def _haar_columns(normals):
    """reference.haar_columns with its reflections applied HAAR_BLOCK at a time, as
    LAPACK's orgqr does (backwards, each block Q <- (I - V T V^T) Q with matrix products);
    returns Q before the column signs, and the signs. The block's T is the inverse of V^T V's
    strict upper triangle plus half its diagonal (Joffrain et al. 2006, "Accumulating
    Householder transformations, revisited"), applied by a small solve."""
    rows, cols = normals.shape
    q = np.eye(rows, cols, dtype=normals.dtype)
    signs = np.empty(cols, normals.dtype)
    for first in reversed(range(0, cols, HAAR_BLOCK)):
        size = min(HAAR_BLOCK, cols - first)
        v = np.tril(normals[first:, first:first + size])   # reflection j's draws: rows >= j
        diag = np.arange(size)
        head = v[diag, diag]
        s = np.where(head < 0, -1, 1).astype(normals.dtype)
        length = np.sqrt(np.einsum("ij,ij->j", v, v))
        top = head + s * length
        v[diag, diag] = np.where(top == 0, 1, top)   # all draws zero: any reflection will do
        signs[first:first + size] = -s
        gram = v.T @ v
        t_inverse = np.triu(gram, 1) + np.diag(np.diag(gram) / 2)
        tail = q[first:, first:]
        tail -= v @ np.linalg.solve(t_inverse, v.T @ tail)
    return q, signs


def _permutation_keys(shape, rng):
    """Uniform keys from the generator; argsort along axis 0 turns them into one random
    permutation per column."""
    keys = np.empty(shape, np.float64)
    _fill(keys, "uniform", rng, 0, 0.0, 1.0)
    return np.argsort(keys, axis=0, kind="stable")


@_in_place
def sparse_(tensor: Array, sparsity: float, std: float = 0.01, *,
            rng: Rng = None) -> Array:
    """torch's ``nn.init.sparse_``: N(0, std^2) with a fraction ``sparsity`` of each column
    (``ceil(sparsity * rows)`` entries) set to zero, for a 2-D tensor (Martens 2010).

    NumPy equivalent: ``tensor[...] = rng.normal(0, std, shape)``, then for each column j
    ``tensor[rng.permutation(rows)[:k], j] = 0``.
    """
    _check_tensor(tensor, 2, 2, "sparse_")
    sparsity = _real(sparsity, "sparsity", 0.0, 1.0)
    std = _real(std, "std", 0.0)
    rows, cols = tensor.shape
    gen = as_generator(rng)
    _fill(tensor, "normal", gen, 0, 0.0, std)
    zeros = math.ceil(sparsity * rows)
    if zeros and cols:
        order = _permutation_keys((rows, cols), gen)
        tensor[order[:zeros], np.arange(cols)] = 0.0
    return tensor


@_in_place
def martens_sparse_(tensor: Array, nonzeros: int = 15, std: float = 1.0, *,
                    rng: Rng = None) -> Array:
    """Martens' (2010) sparse initialisation: each unit (row of an (out, in) weight) gets
    exactly ``nonzeros`` incoming weights from N(0, std^2), the rest zero, so units differ and
    the scale does not depend on the layer's width. 2-D tensors; nonzeros <= in.

    NumPy equivalent: ``tensor[...] = 0``; for each row i,
    ``tensor[i, rng.choice(cols, k, replace=False)] = rng.normal(0, std, k)``. torch has no
    equivalent (``nn.init.sparse_`` zeroes a fraction of each column instead).
    """
    _check_tensor(tensor, 2, 2, "martens_sparse_")
    rows, cols = tensor.shape
    if (isinstance(nonzeros, bool) or not isinstance(nonzeros, numbers.Integral)
            or not 0 <= nonzeros <= cols):
        raise ValueError(f"nonzeros must be an int in [0, {cols}] (the inputs per unit), "
                         f"got {nonzeros!r}")
    std = _real(std, "std", 0.0)
    gen = as_generator(rng)
    _fill(tensor, "normal", gen, 0, 0.0, std)
    if cols and rows:
        order = _permutation_keys((cols, rows), gen)   # per row of tensor
        tensor[np.arange(rows), order[nonzeros:]] = 0.0
    return tensor
