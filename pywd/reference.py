"""Plain NumPy twins of pywd's kernels: the oracle for the tests, the baseline for benchmarks.

Each function reads like the equations of DESIGN.md's decay table and updates its arrays in
place, as the kernel does. Hyper-parameters are Python floats, which NumPy rounds to the
arrays' dtype (NEP 50), and every operation rounds once, in the kernel's order; so on float64
and float32 the kernels are expected to agree with these to the last bit or within a few ulp.
Only tests, benchmarks and the bench command import this module. It does not validate input.
"""
import numpy as np

DECAY_MODES = ("l2", "decoupled", "independent", "l1")


def _as_list(arrays):
    return list(arrays) if isinstance(arrays, (list, tuple)) else [arrays]


def _check_mode(decay):
    if decay not in DECAY_MODES:
        raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")


def soft_threshold(w, threshold):
    """Proximal operator of threshold*|w|_1: sign(w) * max(|w| - threshold, 0)."""
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0)


def sgd(params, grads, momentum_buffers=None, *, lr, momentum=0.0, dampening=0.0,
        nesterov=False, weight_decay=0.0, decay="decoupled", maximize=False, first_step=False):
    """SGD with momentum (torch.optim.SGD's algorithm) and weight decay by `decay`."""
    _check_mode(decay)
    params, grads = _as_list(params), _as_list(grads)
    bufs = _as_list(momentum_buffers) if momentum != 0 else [None] * len(params)
    wd = weight_decay
    for w, g, b in zip(params, grads, bufs):
        if maximize:
            g = -g
        if wd != 0 and decay == "l2":
            g = g + wd * w                        # L2 penalty wd/2*|w|^2 enters the gradient
        if momentum != 0:
            if first_step:
                b[...] = g                        # torch: buf = clone(g) on the first step
            else:
                b[...] = momentum * b + (1 - dampening) * g
            u = g + momentum * b if nesterov else b
        else:
            u = g
        new = w
        if wd != 0 and decay == "decoupled":
            new = w * (1 - lr * wd)               # Loshchilov & Hutter: decay scaled by lr
        elif wd != 0 and decay == "independent":
            new = w * (1 - wd)                    # decay not scaled by lr
        new = new - lr * u
        if wd != 0 and decay == "l1":
            new = soft_threshold(new, lr * wd)    # proximal step of wd*|w|_1
        w[...] = new


def decay(params, *, lr, weight_decay, decay="decoupled"):
    """Weight decay alone: the SGD step with a zero gradient."""
    _check_mode(decay)
    wd = weight_decay
    if wd == 0:
        return
    for w in _as_list(params):
        if decay == "l2":
            w[...] = w - lr * (wd * w)
        elif decay == "decoupled":
            w[...] = w * (1 - lr * wd)
        elif decay == "independent":
            w[...] = w * (1 - wd)
        else:
            w[...] = soft_threshold(w, lr * wd)
