"""Plain NumPy twins of pywd's kernels: the oracle for the tests, the baseline for benchmarks.

Each function reads like the equations of DESIGN.md's decay table and updates its arrays in
place, as the kernel does. Hyper-parameters are Python floats, which NumPy rounds to the
arrays' dtype (NEP 50), and every operation rounds once, in the kernel's order; so on float64
and float32 the kernels are expected to agree with these to the last bit or within a few ulp.
Only tests, benchmarks and the bench command import this module. It does not validate input.
"""
import math

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


def _decay_terms(w, g, weight_decay, decay):
    """The gradient after the "l2" term (the L2 penalty wd/2*|w|^2 enters the gradient)."""
    return g + weight_decay * w if weight_decay != 0 and decay == "l2" else g


def _apply_update(w, update, lr, weight_decay, decay):
    """w - update, with multiplicative decay before it or the L1 threshold after it."""
    wd = weight_decay
    new = w
    if wd != 0 and decay == "decoupled":
        new = w * (1 - lr * wd)                   # Loshchilov & Hutter: decay scaled by lr
    elif wd != 0 and decay == "independent":
        new = w * (1 - wd)                        # decay not scaled by lr
    new = new - update
    if wd != 0 and decay == "l1":
        new = soft_threshold(new, lr * wd)        # proximal step of wd*|w|_1
    w[...] = new


def sgd(params, grads, momentum_buffers=None, *, lr, momentum=0.0, dampening=0.0,
        nesterov=False, weight_decay=0.0, decay="decoupled", maximize=False, first_step=False):
    """SGD with momentum (torch.optim.SGD's algorithm) and weight decay by `decay`."""
    _check_mode(decay)
    params, grads = _as_list(params), _as_list(grads)
    bufs = _as_list(momentum_buffers) if momentum != 0 else [None] * len(params)
    for w, g, b in zip(params, grads, bufs):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay)
        if momentum != 0:
            if first_step:
                b[...] = g                        # torch: buf = clone(g) on the first step
            else:
                b[...] = momentum * b + (1 - dampening) * g
            u = g + momentum * b if nesterov else b
        else:
            u = g
        _apply_update(w, lr * u, lr, weight_decay, decay)


def adam(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
         weight_decay=0.0, decay="decoupled", amsgrad=False, max_exp_avg_sqs=None,
         maximize=False):
    """Adam (Kingma & Ba 2015, Algorithm 1) with torch's AMSGrad, weight decay by `decay`."""
    _check_mode(decay)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    inv_sqrt_bc2 = 1 / math.sqrt(bias_correction2)   # v-hat = v / (1 - beta2^t), hoisted
    params, grads = _as_list(params), _as_list(grads)
    maxes = _as_list(max_exp_avg_sqs) if amsgrad else [None] * len(params)
    for w, g, m, v, vmax in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs), maxes):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        if amsgrad:
            np.maximum(vmax, v, out=vmax)           # Reddi et al. 2018
        v_hat = vmax if amsgrad else v
        denom = np.sqrt(v_hat) * inv_sqrt_bc2 + eps
        _apply_update(w, step_size * (m / denom), lr, weight_decay, decay)


def adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=0.01, decay="decoupled", amsgrad=False, max_exp_avg_sqs=None,
          maximize=False):
    """AdamW: adam with decoupled weight decay 0.01 by default."""
    adam(params, grads, exp_avgs, exp_avg_sqs, step=step, lr=lr, beta1=beta1, beta2=beta2,
         eps=eps, weight_decay=weight_decay, decay=decay, amsgrad=amsgrad,
         max_exp_avg_sqs=max_exp_avg_sqs, maximize=maximize)


def rmsprop(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr,
            alpha=0.99, eps=1e-8, weight_decay=0.0, decay="decoupled", momentum=0.0,
            centered=False, maximize=False):
    """RMSprop (Hinton, lecture 6e; torch.optim.RMSprop's centered and momentum variants)."""
    _check_mode(decay)
    params, grads = _as_list(params), _as_list(grads)
    bufs = _as_list(momentum_buffers) if momentum != 0 else [None] * len(params)
    avgs = _as_list(grad_avgs) if centered else [None] * len(params)
    for w, g, s, b, a in zip(params, grads, _as_list(square_avgs), bufs, avgs):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay)
        s[...] = alpha * s + (1 - alpha) * (g * g)
        variance = s
        if centered:
            a[...] = alpha * a + (1 - alpha) * g
            variance = s - a * a
        u = g / (np.sqrt(variance) + eps)
        if momentum != 0:
            b[...] = momentum * b + u
            u = b
        _apply_update(w, lr * u, lr, weight_decay, decay)


def adagrad(params, grads, state_sums, *, step, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
            decay="decoupled", maximize=False):
    """Adagrad (Duchi, Hazan & Singer 2011) with torch's lr_decay, weight decay by `decay`."""
    _check_mode(decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    for w, g, s in zip(_as_list(params), _as_list(grads), _as_list(state_sums)):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay)
        s[...] = s + g * g
        _apply_update(w, clr * (g / (np.sqrt(s) + eps)), clr, weight_decay, decay)


def lion(params, grads, exp_avgs, *, lr, beta1=0.9, beta2=0.99, weight_decay=0.0,
         decay="decoupled", maximize=False):
    """Lion (Chen et al. 2023, Algorithm 2), weight decay by `decay`."""
    _check_mode(decay)
    for w, g, m in zip(_as_list(params), _as_list(grads), _as_list(exp_avgs)):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay)
        update = np.sign(beta1 * m + (1 - beta1) * g)
        _apply_update(w, lr * update, lr, weight_decay, decay)
        m[...] = beta2 * m + (1 - beta2) * g


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
