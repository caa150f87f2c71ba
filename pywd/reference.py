"""Plain NumPy twins of pywd's kernels: the oracle for the tests, the baseline for benchmarks.

Each function reads like the equations of docs/design.md's decay table and updates its arrays in
place, as the kernel does. Hyper-parameters are Python floats, which NumPy rounds to the
arrays' dtype (NEP 50), and every operation rounds once, in the kernel's order; so on float64
and float32 the kernels are expected to agree with these to the last bit or within a few ulp.
Only tests, benchmarks and the bench command import this module. It does not validate input.
"""
import math

import numpy as np

DECAY_MODES = ("l2", "decoupled", "independent", "corrected", "l1")
MULTIPLICATIVE = ("decoupled", "independent", "corrected")


def _as_list(arrays):
    return list(arrays) if isinstance(arrays, (list, tuple)) else [arrays]


def _check_mode(decay, cautious_decay=False):
    if decay not in DECAY_MODES:
        raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")
    if cautious_decay and decay not in MULTIPLICATIVE:
        raise ValueError(f"cautious_decay needs a multiplicative decay, got {decay!r}")


NORM_BLOCK, NORM_LANES = 8192, 16


def sum_of_squares(grads, scale=1.0):
    """sum((scale*g)**2) over every gradient, in float64 and in the kernels' order (so the
    result is bit-identical, as every other twin here): each array, in memory order, is cut
    into blocks of NORM_BLOCK elements; lane j of a block sums elements j, j+16, j+32, ...
    one after another; the 16 lanes are added pairwise; the block sums are added in order."""
    total = 0.0
    for g in grads:
        flat = g.ravel(order="K").astype(np.float64) * scale
        padded = np.zeros(-(-flat.size // NORM_BLOCK) * NORM_BLOCK)   # zeros add nothing
        padded[:flat.size] = flat
        squares = np.square(padded).reshape(-1, NORM_BLOCK // NORM_LANES, NORM_LANES)
        lanes = np.add.reduce(squares, axis=1)     # over rows, in order: one lane per column
        width = NORM_LANES // 2
        while width >= 1:
            lanes[:, :width] += lanes[:, width:2 * width]
            width //= 2
        for block_sum in lanes[:, 0].tolist():
            total += block_sum
    return total


def global_norm(grads):
    """The 2-norm of every element of every gradient, also when float64 squares overflow
    (then the values are scaled by 2**-600 first, exactly, as the kernels do)."""
    with np.errstate(over="ignore", invalid="ignore"):
        sumsq = sum_of_squares(grads)
        if math.isinf(sumsq):
            return math.sqrt(sum_of_squares(grads, 2.0 ** -600)) / 2.0 ** -600
    return math.sqrt(sumsq)


def _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm):
    """nonfinite=, grad_scale= and max_grad_norm= as every update applies them: returns the
    gradients to use (None when the step is skipped) and (applied, grad_norm)."""
    grads = _as_list(grads)
    if nonfinite == "propagate" and max_grad_norm is None:
        norm = None
    else:
        norm = global_norm(grads) / grad_scale
        finite = all(np.isfinite(g).all() for g in grads)
        if not finite and nonfinite == "raise":
            raise FloatingPointError("a gradient has a non-finite value")
        if not finite and nonfinite == "skip":
            return None, (False, norm)
    scale = grad_scale
    if max_grad_norm is not None:
        clip = max_grad_norm / (norm + 1e-6)           # torch.nn.utils.clip_grad_norm_
        if not clip >= 1.0:
            # as torch: an infinite norm clips by 0 (every gradient times 0; inf * 0 = NaN),
            # a NaN norm by NaN (every gradient NaN)
            scale = grad_scale / clip if clip != 0 else math.inf
    if scale != 1.0:
        grads = [g * (1.0 / scale) for g in grads]     # the reciprocal, rounded to g's dtype
    return grads, (True, norm)


def soft_threshold(w, threshold):
    """Proximal operator of threshold*|w|_1: sign(w) * max(|w| - threshold, 0)."""
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0)


def _offset(w, anchor):
    """What decay acts on: w, or w - w0 with an anchor (decay_to: L2-SP, Li et al. 2018)."""
    return w if anchor is None else w - anchor


def _decay_terms(w, g, weight_decay, decay, anchor=None):
    """The gradient after the "l2" term (the L2 penalty wd/2*|w - w0|^2 enters it)."""
    return g + weight_decay * _offset(w, anchor) if weight_decay != 0 and decay == "l2" else g


def decay_rate(lr, weight_decay, decay, max_lr=None):
    """What a multiplicative decay takes off w per unit of w, in double (max_lr None:
    max_lr = lr)."""
    ratio = 1.0 if max_lr is None else lr / max_lr
    if decay == "decoupled":
        return lr * weight_decay                 # Loshchilov & Hutter: scaled by lr
    if decay == "independent":
        return weight_decay * ratio              # Wortsman et al. 2023: by lr / max_lr
    return weight_decay * lr * ratio             # "corrected", AdamC: by lr^2 / max_lr


def decay_factor(lr, weight_decay, decay, max_lr=None):
    """What a multiplicative decay multiplies w by, in double."""
    return 1 - decay_rate(lr, weight_decay, decay, max_lr)


def norm_rate(rate, target, norm):
    """Weight-norm control's rate for a tensor of norm `norm` (Loshchilov 2023, AdamWN: decay
    toward the sphere of radius `target`): rate * (1 - target / norm), so that the norm moves
    to (1 - rate) * norm + rate * target; `rate` itself for a target of 0 or a norm that is
    not finite, 0 for an all-zero tensor."""
    if target == 0 or not norm < math.inf:
        return rate
    return 0.0 if norm == 0 else rate * (1 - target / norm)


def _norm_targets(norm_target, n):
    """Per tensor, its target norm (None: no norm control)."""
    if norm_target is None or np.ndim(norm_target) == 0:
        return [norm_target] * n
    return [float(t) for t in np.ravel(norm_target)]


def _apply_update(w, update, lr, weight_decay, decay, max_lr=None, cautious_decay=False,
                  anchor=None, caution_grad=None, norm_target=None):
    """w - update, with multiplicative decay before it or the L1 threshold after it (acting
    on w - w0, around the anchor w0, when there is one). An update given as a tuple of
    parts is subtracted part by part (cautious decay looks at their sum). With
    caution_grad, the gradient g: the cautious update (Liang et al. 2024), the sum kept
    where it has g's sign, times 1 / max(the kept fraction, 1e-3), subtracted at once. With
    norm_target, the multiplicative decay's rate is norm_rate's for w's norm before the step
    (summed in double)."""
    wd = weight_decay
    parts = update if isinstance(update, tuple) else (update,)
    update = sum(parts[1:], parts[0])
    if caution_grad is not None:
        kept = update * caution_grad > 0
        scale = 1.0 / max(np.count_nonzero(kept) / kept.size, 1e-3) if kept.size else 1.0
        update = update * (kept.astype(update.dtype) * update.dtype.type(scale))
        parts = (update,)
    new = w
    if wd != 0 and decay in MULTIPLICATIVE:
        rate = decay_rate(lr, wd, decay, max_lr)
        if norm_target is not None:
            rate = norm_rate(rate, norm_target, math.sqrt(sum_of_squares([w])))
        factor = 1 - rate
        x = _offset(w, anchor)
        if cautious_decay:                        # Chen et al. 2025: only where the update
            x = np.where(update * x < 0, x, x * factor)   # also moves w toward its anchor
        else:
            x = x * factor
        new = x if anchor is None else anchor + x
    for part in parts:
        new = new - part
    if wd != 0 and decay == "l1":                 # proximal step of wd*|w - w0|_1
        x = soft_threshold(_offset(new, anchor), lr * wd)
        new = x if anchor is None else anchor + x
    w[...] = new


def _anchors(decay_to, n):
    return _as_list(decay_to) if decay_to is not None else [None] * n


def sgd(params, grads, momentum_buffers=None, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
        weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, caution=False,
        norm_target=None, decay_to=None, maximize=False, first_step=False, nonfinite="propagate",
        grad_scale=1.0,
        max_grad_norm=None):
    """SGD with momentum (torch.optim.SGD's algorithm) and weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    bufs = _as_list(momentum_buffers) if momentum != 0 else [None] * len(params)
    for w, g, b, a in zip(params, grads, bufs, _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        if momentum != 0:
            if first_step:
                b[...] = g                        # torch: buf = clone(g) on the first step
            else:
                b[...] = momentum * b + (1 - dampening) * g
            u = g + momentum * b if nesterov else b
        else:
            u = g
        _apply_update(w, lr * u, lr, weight_decay, decay, max_lr, cautious_decay, a,
                      caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def sgdw(params, grads, momentum_buffers=None, *, decay="decoupled", **hyper):
    """SGDW: sgd with decoupled weight decay by default (w *= 1 - lr*wd, then the step)."""
    return sgd(params, grads, momentum_buffers, decay=decay, **hyper)


def adam(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
         weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, caution=False,
         norm_target=None, decay_to=None, amsgrad=False, max_exp_avg_sqs=None, maximize=False,
         nonfinite="propagate",
         grad_scale=1.0, max_grad_norm=None):
    """Adam (Kingma & Ba 2015, Algorithm 1) with torch's AMSGrad, weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    inv_sqrt_bc2 = 1 / math.sqrt(bias_correction2)   # v-hat = v / (1 - beta2^t), hoisted
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    maxes = _as_list(max_exp_avg_sqs) if amsgrad else [None] * len(params)
    for w, g, m, v, vmax, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs),
                                   maxes, _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        if amsgrad:
            np.maximum(vmax, v, out=vmax)           # Reddi et al. 2018
        v_hat = vmax if amsgrad else v
        denom = np.sqrt(v_hat) * inv_sqrt_bc2 + eps
        _apply_update(w, step_size * (m / denom), lr, weight_decay, decay, max_lr,
                      cautious_decay, a, caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=0.01, decay="decoupled", max_lr=None, cautious_decay=False, caution=False,
          norm_target=None, decay_to=None, amsgrad=False, max_exp_avg_sqs=None, maximize=False,
          nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """AdamW: adam with decoupled weight decay 0.01 by default."""
    return adam(params, grads, exp_avgs, exp_avg_sqs, step=step, lr=lr, beta1=beta1,
                beta2=beta2, eps=eps, weight_decay=weight_decay, decay=decay, max_lr=max_lr,
                cautious_decay=cautious_decay, caution=caution, norm_target=norm_target,
                decay_to=decay_to,
                amsgrad=amsgrad, max_exp_avg_sqs=max_exp_avg_sqs, maximize=maximize,
                nonfinite=nonfinite, grad_scale=grad_scale, max_grad_norm=max_grad_norm)


def rmsprop(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr,
            alpha=0.99, eps=1e-8, weight_decay=0.0, decay="l2", max_lr=None,
            cautious_decay=False, decay_to=None, momentum=0.0, centered=False,
            maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """RMSprop (Hinton, lecture 6e; torch.optim.RMSprop's centered and momentum variants)."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    bufs = _as_list(momentum_buffers) if momentum != 0 else [None] * len(params)
    avgs = _as_list(grad_avgs) if centered else [None] * len(params)
    for w, g, s, b, a, w0 in zip(params, grads, _as_list(square_avgs), bufs, avgs,
                                 _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, w0)
        s[...] = alpha * s + (1 - alpha) * (g * g)
        variance = s
        if centered:
            a[...] = alpha * a + (1 - alpha) * g
            variance = s - a * a
        u = g / (np.sqrt(variance) + eps)
        if momentum != 0:
            b[...] = momentum * b + u
            u = b
        _apply_update(w, lr * u, lr, weight_decay, decay, max_lr, cautious_decay, w0)
    return outcome


def adagrad(params, grads, state_sums, *, step, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
            decay="l2", max_lr=None, cautious_decay=False, decay_to=None, maximize=False,
            nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """Adagrad (Duchi, Hazan & Singer 2011) with torch's lr_decay, weight decay by `decay`
    (at the step's rate clr, which is also "independent"'s and "corrected"'s lr)."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    clr = lr / (1 + (step - 1) * lr_decay)
    params = _as_list(params)
    for w, g, s, a in zip(params, _as_list(grads), _as_list(state_sums),
                          _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        s[...] = s + g * g
        _apply_update(w, clr * (g / (np.sqrt(s) + eps)), clr, weight_decay, decay, max_lr,
                      cautious_decay, a)
    return outcome


def lion(params, grads, exp_avgs, *, lr, beta1=0.9, beta2=0.99, weight_decay=0.0,
         decay="decoupled", max_lr=None, cautious_decay=False, caution=False, norm_target=None,
         decay_to=None,
         maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """Lion (Chen et al. 2023, Algorithm 2), weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    for w, g, m, a in zip(params, _as_list(grads), _as_list(exp_avgs),
                          _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        update = np.sign(beta1 * m + (1 - beta1) * g)
        _apply_update(w, lr * update, lr, weight_decay, decay, max_lr, cautious_decay, a,
                      caution_grad=g if caution else None,
                      norm_target=next(targets))
        m[...] = beta2 * m + (1 - beta2) * g
    return outcome


def adamax(params, grads, exp_avgs, exp_infs, *, step, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
           weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, caution=False,
           norm_target=None, decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
           max_grad_norm=None):
    """Adamax (Kingma & Ba 2015, section 7.1), torch's order, weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    step_size = lr / (1 - beta1 ** step)
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    for w, g, m, u, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_infs),
                             _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        u[...] = np.maximum(beta2 * u, np.abs(g) + eps)       # NaN propagates
        _apply_update(w, step_size * (m / u), lr, weight_decay, decay, max_lr,
                      cautious_decay, a, caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def radam(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, caution=False,
          norm_target=None, decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
          max_grad_norm=None):
    """RAdam (Liu et al. 2020, Algorithm 2), torch's order, weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1                      # the SMA's maximum length
    rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rho_t > 5 else None
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    for w, g, m, v, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs),
                             _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        update = (m / bias_correction1) * lr
        if rect is not None:                           # the variance is tractable
            update = (update * (math.sqrt(bias_correction2) / (np.sqrt(v) + eps))) * rect
        _apply_update(w, update, lr, weight_decay, decay, max_lr, cautious_decay, a,
                      caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def ademamix_schedules(step, alpha, t_alpha, beta1, beta3, t_beta3):
    """AdEMAMix's warm-ups at `step` (Pagliardini et al. 2024, their code's schedulers):
    alpha linear from 0 over t_alpha steps; beta3 from beta1 with its half-life, ln(1/2) /
    ln(beta), growing linearly over t_beta3 steps. None: no warm-up."""
    if t_alpha is not None and step < t_alpha:
        alpha = step * alpha / t_alpha
    if t_beta3 is not None and step < t_beta3:
        r = step / t_beta3
        half_life = (1 - r) / math.log(beta1) + r / math.log(beta3)     # over ln(1/2)
        beta3 = min(math.exp(1 / half_life), beta3)
    return alpha, beta3


def ademamix(params, grads, exp_avgs, exp_avg_sqs, exp_avg_slows, *, step, lr=1e-3, beta1=0.9,
             beta2=0.999, beta3=0.9999, alpha=5.0, t_alpha=None, t_beta3=None, eps=1e-8,
             weight_decay=0.01, decay="decoupled", max_lr=None, cautious_decay=False,
             caution=False, norm_target=None, decay_to=None, maximize=False,
             nonfinite="propagate", grad_scale=1.0,
             max_grad_norm=None):
    """AdEMAMix (Pagliardini et al. 2024, Algorithm 1): Adam's update with alpha times a
    slow, uncorrected EMA of the gradient added to the bias-corrected first moment."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    alpha, beta3 = ademamix_schedules(step, alpha, t_alpha, beta1, beta3, t_beta3)
    fast_rate = lr / (1 - beta1 ** step)
    slow_rate = lr * alpha
    inv_sqrt_bc2 = 1 / math.sqrt(1 - beta2 ** step)
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    for w, g, m, v, s, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs),
                                _as_list(exp_avg_slows), _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        s[...] = beta3 * s + (1 - beta3) * g
        denom = np.sqrt(v) * inv_sqrt_bc2 + eps
        _apply_update(w, (fast_rate * m + slow_rate * s) / denom, lr, weight_decay, decay,
                      max_lr, cautious_decay, a, caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def nadam_mu(beta1, momentum_decay, step):
    """NAdam's momentum schedule (Dozat 2016, with torch's constants): mu_t."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))


def nadam(params, grads, exp_avgs, exp_avg_sqs, *, step, mu_product=None, lr=2e-3, beta1=0.9,
          beta2=0.999, eps=1e-8, momentum_decay=4e-3, weight_decay=0.0, decay="l2", max_lr=None,
          cautious_decay=False, caution=False, norm_target=None, decay_to=None, maximize=False,
          nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """NAdam (Dozat 2016), torch's order and momentum schedule, weight decay by `decay`:
    the gradient's share and the next momentum's share of the step, each bias-corrected by
    the schedule's product."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    if mu_product is None:
        mu_product = math.prod(nadam_mu(beta1, momentum_decay, i) for i in range(1, step))
    mu, mu_next = nadam_mu(beta1, momentum_decay, step), nadam_mu(beta1, momentum_decay, step + 1)
    product = mu_product * mu                     # through this step
    grad_share = lr * (1 - mu) / (1 - product)
    momentum_share = lr * mu_next / (1 - product * mu_next)
    bias_correction2 = 1 - beta2 ** step
    params = _as_list(params)
    targets = iter(_norm_targets(norm_target, len(params)))
    for w, g, m, v, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs),
                             _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        denom = np.sqrt(v / bias_correction2) + eps
        update = (grad_share * (g / denom), momentum_share * (m / denom))
        _apply_update(w, update, lr, weight_decay, decay, max_lr, cautious_decay, a,
                      caution_grad=g if caution else None,
                      norm_target=next(targets))
    return outcome


def rprop(params, grads, prevs, step_sizes, *, lr=1e-2, etaminus=0.5, etaplus=1.2,
          step_size_min=1e-6, step_size_max=50.0, weight_decay=0.0, decay="l2", max_lr=None,
          cautious_decay=False, decay_to=None, maximize=False, nonfinite="propagate",
          grad_scale=1.0, max_grad_norm=None):
    """Rprop (Riedmiller & Braun 1993, without backtracking), torch's order: each step size
    grows by etaplus while its gradient keeps its sign, shrinks by etaminus on a flip (and
    that element waits a step), and the weight moves by sign(g) times it."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    for w, g, prev, s, a in zip(params, grads, _as_list(prevs), _as_list(step_sizes),
                                _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        agreement = np.sign(g * prev)          # +1 kept, -1 flipped, 0 unknown, NaN
        eta = np.where(agreement > 0, etaplus, np.where(agreement < 0, etaminus, 1.0))
        eta = np.where(np.isnan(agreement), np.nan, eta).astype(w.dtype)
        s[...] = np.clip(s * eta, step_size_min, step_size_max)
        g = np.where(agreement < 0, 0, g).astype(w.dtype)
        _apply_update(w, np.sign(g) * s, lr, weight_decay, decay, max_lr, cautious_decay, a)
        prev[...] = g
    return outcome


def asgd_schedule(step, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6):
    """ASGD's (eta, mu) for step `step` (from 1) at a constant lr, as torch computes each
    after the step before it (Bottou 2012's step size; averaging from step t0 on)."""
    done = step - 1
    # NumPy's power (libc's pow) where Python's float ** raises OverflowError: a
    # denominator past float64's range gives eta's limit, 0
    with np.errstate(over="ignore"):
        denominator = np.power(np.float64(1 + lambd * lr * done), alpha)
    return lr / float(denominator), 1 / max(1, done - t0)


def asgd(params, grads, axs, *, step, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, eta=None,
         mu=None, weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
         decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None):
    """ASGD (Polyak & Juditsky 1992), torch's order: an SGD step of size eta with the decay
    term lambd, then the running average ax of the weights, weighted by mu."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    scheduled = asgd_schedule(step, lr, lambd, alpha, t0)
    eta = scheduled[0] if eta is None else eta
    mu = scheduled[1] if mu is None else mu
    params = _as_list(params)
    for w, g, ax, a in zip(params, grads, _as_list(axs), _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        w *= 1 - lambd * eta                      # ASGD's own decay, before pywd's
        _apply_update(w, eta * g, eta, weight_decay, decay, max_lr, cautious_decay, a)
        ax[...] = ax + (w - ax) * mu if mu != 1 else w
    return outcome


def trust_ratio(weight_norm, update_norm, clip=False):
    """LAMB's phi = ||w|| / ||r||: 1 where either norm is 0 (or NaN), at most 1 with clip."""
    phi = weight_norm / update_norm if weight_norm > 0 and update_norm > 0 else 1.0
    return min(phi, 1.0) if clip else phi


def _norm(x):
    """The 2-norm, its squares summed in float64 in the kernels' order (sum_of_squares)."""
    return math.sqrt(sum_of_squares([x]))


def lamb(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
         eps=1e-6, weight_decay=0.01, decay="decoupled", bias_correction=True,
         trust_clip=False, always_adapt=False, max_lr=None, cautious_decay=False,
         decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None):
    """LAMB (You et al. 2020, Algorithm 2; timm's order): Adam's direction r, LAMB's decay
    inside it ("decoupled"), scaled per tensor by the trust ratio ||w|| / ||r||."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    bc1 = 1 - beta1 ** step if bias_correction else 1.0
    sqrt_bc2 = math.sqrt(1 - beta2 ** step) if bias_correction else 1.0
    inside = decay == "decoupled" and weight_decay != 0
    params = _as_list(params)
    for w, g, m, v, a in zip(params, grads, _as_list(exp_avgs), _as_list(exp_avg_sqs),
                             _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * (g * g)
        r = (m / bc1) / (np.sqrt(v) / sqrt_bc2 + eps)
        if inside:                                   # LAMB's decay, part of the direction
            decay_term = weight_decay * _offset(w, a)
            if cautious_decay:
                decay_term = np.where(r * _offset(w, a) < 0, 0, decay_term)
            r = r + decay_term
        phi = (trust_ratio(_norm(w), _norm(r), trust_clip)
               if weight_decay != 0 or always_adapt else 1.0)
        _apply_update(w, lr * (r * phi), lr, 0.0 if inside else weight_decay, decay, max_lr,
                      cautious_decay, a)
    return outcome


def lars(params, grads, momentum_buffers=None, *, lr=1.0, momentum=0.0, dampening=0.0,
         nesterov=False, trust_coeff=1e-3, eps=1e-8, trust_clip=False, always_adapt=False,
         weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, decay_to=None,
         maximize=False, first_step=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None):
    """LARS (You et al. 2017, Algorithm 1; timm's order, LARC clipping): the gradient, with
    LARS's L2 term, scaled per tensor by trust_coeff * ||w|| / (||g|| + wd * ||w|| + eps),
    then SGD with momentum."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    bufs = _as_list(momentum_buffers) if momentum else [None] * len(params)
    adapt = weight_decay != 0 or always_adapt
    for w, g, b, a in zip(params, grads, bufs, _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        phi = 1.0
        if adapt:
            w_norm, g_norm = _norm(w), _norm(g)
            penalty = _norm(_offset(w, a)) if decay == "l2" else 0.0
            phi = (trust_coeff * w_norm / (g_norm + weight_decay * penalty + eps)
                   if w_norm > 0 and g_norm > 0 else 1.0)
            if trust_clip:                           # LARC; phi / 0 is inf: capped at 1
                with np.errstate(divide="ignore", invalid="ignore"):
                    phi = float(min(np.float64(phi) / lr, 1.0))
        g = _decay_terms(w, g, weight_decay, decay, a) * phi
        u = g
        if momentum:
            b[...] = g if first_step else momentum * b + (1 - dampening) * g
            u = g + momentum * b if nesterov else b
        _apply_update(w, lr * u, lr, weight_decay, decay, max_lr, cautious_decay, a)
    return outcome


def adadelta(params, grads, square_avgs, acc_deltas, *, lr=1.0, rho=0.9, eps=1e-6,
             weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, decay_to=None,
             maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """Adadelta (Zeiler 2012, Algorithm 1, with torch's lr), weight decay by `decay`."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    for w, g, s, acc, a in zip(params, grads, _as_list(square_avgs), _as_list(acc_deltas),
                               _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        s[...] = rho * s + (1 - rho) * (g * g)
        delta = (np.sqrt(acc + eps) / np.sqrt(s + eps)) * g   # RMS[dx] / RMS[g] * g
        acc[...] = rho * acc + (1 - rho) * (delta * delta)
        _apply_update(w, lr * delta, lr, weight_decay, decay, max_lr, cautious_decay, a)
    return outcome


def decay(params, *, lr, weight_decay, decay="decoupled", max_lr=None, decay_to=None):
    """Weight decay alone: the SGD step with a zero gradient."""
    _check_mode(decay)
    wd = weight_decay
    if wd == 0:
        return
    params = _as_list(params)
    for w, a in zip(params, _anchors(decay_to, len(params))):
        if decay == "l2":
            w[...] = w - lr * (wd * _offset(w, a))
        else:
            _apply_update(w, 0, lr, wd, decay, max_lr, False, a)


# ------------------------------------------------------------------------------ generator
# Philox4x32-10 (Salmon et al. 2011, Random123), written out from the paper, and the fills
# of pywd.init as NumPy equations: element e of a fill at block position P comes from block
# P + e // E, lane e % E (E = 4 for float32, 2 for float64).
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57      # round multipliers
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85      # Weyl key increments
MASK32 = 0xFFFFFFFF


def philox4x32(counter, key, rounds=10):
    """One Philox4x32 block, in plain Python integers: 4 words from 4 counter words, 2 key
    words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(rounds):
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
        k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def philox_words(seed, first, count, c2=0, c3=0):
    """The words of the blocks with counters (first + j, c2, c3), j = 0 .. count - 1 (the
    64-bit first + j is counter words 0 and 1), for a seed, as a (count, 4) uint32 array: the
    same equations as philox4x32, vectorised over blocks with NumPy's uint64."""
    block = (np.uint64(first) + np.arange(count, dtype=np.uint64))
    c = [block & MASK32, block >> np.uint64(32), np.full(count, c2, np.uint64),
         np.full(count, c3, np.uint64)]
    k0, k1 = seed & MASK32, seed >> 32
    for _ in range(10):
        p0, p1 = np.uint64(PHILOX_M0) * c[0], np.uint64(PHILOX_M1) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0), p1 & np.uint64(MASK32),
             (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1), p0 & np.uint64(MASK32)]
        k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    return np.stack(c, axis=1).astype(np.uint32)


def _element_words(n, dtype, seed, position, offset):
    """For elements offset .. offset + n - 1: their block's words and their lane (indices are
    64-bit, block numbers wrap modulo 2**64 as the generator's position does)."""
    per_block = 4 if np.dtype(dtype) == np.float32 else 2
    e = np.uint64(offset) + np.arange(n, dtype=np.uint64)
    first = offset // per_block
    words = philox_words(seed, (position + first) % 2**64,
                         (offset + n - 1) // per_block - first + 1)
    rows = (e // np.uint64(per_block) - np.uint64(first)).astype(np.int64)
    return words[rows], (e % np.uint64(per_block)).astype(np.int64)


def _unit(words, lane, dtype, half=False):
    """The uniform grid value of a lane: float32 (w >> 8) * 2^-24 from word `lane`; float64
    the top 53 bits of words (2 lane, 2 lane + 1) * 2^-53; half=True adds half a step (in
    (0, 1), for the inverse CDF)."""
    rows = np.arange(len(words))
    if np.dtype(dtype) == np.float32:
        bits = (words[rows, lane] >> np.uint32(8)).astype(np.float64)
        return (bits + (0.5 if half else 0.0)) * 2.0 ** -24
    hi = words[rows, 2 * lane].astype(np.uint64)
    lo = words[rows, 2 * lane + 1].astype(np.uint64)
    bits = ((hi << np.uint64(32)) | lo) >> np.uint64(11)
    return (bits.astype(np.float64) + (0.5 if half else 0.0)) * 2.0 ** -53


def fill_uniform(shape, dtype, low, high, seed, position=0, offset=0):
    """U(low, high) in [low, high): low + (high - low) * u in the dtype, kept below high."""
    n = math.prod(shape)
    words, lane = _element_words(n, dtype, seed, position, offset)
    u = _unit(words, lane, dtype).astype(dtype)           # exact: the grid fits the dtype
    v = dtype(low) + dtype(high - low) * u
    below = np.nextafter(dtype(high), dtype(-np.inf)) if high > low else dtype(high)
    return np.minimum(v, below).reshape(shape)


def fill_normal(shape, dtype, mean, std, seed, position=0, offset=0):
    """Box-Muller (in double): r = sqrt(-2 log(1 - u1)), z = r cos(2 pi u2) for the first
    element of a pair, r sin(2 pi u2) for the second; float32 pairs are lanes (0, 1) and
    (2, 3) of a block, float64 the block's two lanes."""
    n = math.prod(shape)
    words, lane = _element_words(n, dtype, seed, position, offset)
    rows = np.arange(n)
    if np.dtype(dtype) == np.float32:
        pair = lane // 2 * 2
        u1 = (words[rows, pair] >> np.uint32(8)).astype(np.float64) * 2.0 ** -24
        u2 = (words[rows, pair + 1] >> np.uint32(8)).astype(np.float64) * 2.0 ** -24
        second = lane % 2 == 1
    else:
        u1, u2 = _unit(words, np.zeros(n, np.int64), dtype), _unit(words, np.ones(n, np.int64), dtype)
        second = lane == 1
    r = np.sqrt(-2.0 * np.log(1.0 - u1))
    theta = 2.0 * np.pi * u2
    z = np.where(second, r * np.sin(theta), r * np.cos(theta))
    return (mean + std * z).astype(dtype).reshape(shape)


def fill_trunc_normal(shape, dtype, mean, std, a, b, seed, position=0, offset=0):
    """N(mean, std^2) truncated to [a, b] by the inverse CDF: z = Phi^-1(Phi(alpha) + u
    (Phi(beta) - Phi(alpha))), u in (0, 1), alpha and beta the standardised bounds (mirrored
    when the interval lies in the upper tail, where Phi is inaccurate). Below -10 sigma the
    same quantile is found in log space, log Phi(z) = log Phi(beta) + log(r + u (1 - r)) with
    r = Phi(alpha) / Phi(beta), since Phi underflows from -38.5 sigma."""
    from statistics import NormalDist
    unit = NormalDist()
    n = math.prod(shape)
    words, lane = _element_words(n, dtype, seed, position, offset)
    u = _unit(words, lane, dtype, half=True)
    alpha, beta = (a - mean) / std, (b - mean) / std
    flip = alpha + beta > 0
    if flip:
        alpha, beta = -beta, -alpha
    if beta < -10.0:
        log_pb = _log_ndtr(beta)
        log_r = _log_ndtr(alpha) - log_pb
        r, one_minus_r = math.exp(log_r), -math.expm1(log_r)
        z = np.array([_ndtri_exp(log_pb + math.log(r + ui * one_minus_r)) for ui in u])
    else:
        # Phi by erfc: accurate in the lower tail (NormalDist.cdf's 1 + erf cancels there,
        # 4e-11 relative at -5, which the kernel's ndtr does not)
        pa, pb = (0.5 * math.erfc(-x / math.sqrt(2.0)) for x in (alpha, beta))
        z = np.array([unit.inv_cdf(min(max(pa + ui * (pb - pa), 1e-300), 1 - 1e-16))
                      for ui in u])
    z = np.clip(z, alpha, beta)
    values = np.clip(mean + std * (-z if flip else z), a, b)
    return values.astype(dtype).reshape(shape)


def _log_ndtr(x):
    """log Phi(x): by erfc, or below -35 by the asymptotic series of Phi(x) (x / phi(x))
    = -(1 - 1/x^2 + 3/x^4 - 15/x^6 + ...) (Abramowitz & Stegun 26.2.12)."""
    if x > 0:
        return math.log1p(-0.5 * math.erfc(x / math.sqrt(2.0)))
    if x > -35:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    series = sum(math.prod(range(1, 2 * k, 2)) * (-1.0 / (x * x)) ** k for k in range(9))
    return -0.5 * x * x - math.log(-x) - 0.5 * math.log(2 * math.pi) + math.log(series)


def _ndtri_exp(y):
    """The z with log Phi(z) = y (z <= 0): Newton's method on log Phi, whose derivative is
    phi(z) / Phi(z), from the asymptotic estimate z^2/2 + log(-z) + log(sqrt(2 pi)) = -y."""
    from statistics import NormalDist
    if y > -600:
        z = NormalDist().inv_cdf(math.exp(y))
    else:
        t = -2.0 * y - math.log(2 * math.pi)
        z = -math.sqrt(t)
        for _ in range(2):
            z = -math.sqrt(t - 2.0 * math.log(-z))
    for _ in range(6):
        log_cdf = _log_ndtr(z)
        step = (log_cdf - y) / math.exp(-0.5 * z * z - 0.5 * math.log(2 * math.pi) - log_cdf)
        z -= step
        if abs(step) <= 1e-16 * abs(z):
            break
    return z


# -------------------------------------------------------------------------- orthogonal
def haar_columns(normals):
    """The (rows, cols) matrix with orthonormal columns (rows >= cols) that pywd.init's
    orthogonal_ builds from a matrix of standard normal draws, one Householder reflection at
    a time (Stewart 1980, "The efficient generation of random orthogonal matrices"):
    reflection j maps column j's draws below the diagonal, x = normals[j:, j], to a multiple
    of e_1 (v = x + sign(x_1) |x| e_1, sign(0) = +1, H_j = I - 2 v v^T / v^T v), and
    Q = H_0 H_1 ... H_{cols-1} diag(-sign(x_1)) restricted to its first cols columns.

    It is the Q of a QR factorisation of a normal matrix with R's diagonal made positive
    (what torch's orthogonal_ returns), in distribution: Haar on the orthogonal group (the
    Stiefel manifold when rows > cols). pywd applies the reflections in blocks; this
    applies them one by one."""
    rows, cols = normals.shape
    q = np.eye(rows, cols, dtype=normals.dtype)
    signs = np.empty(cols, normals.dtype)
    for j in reversed(range(cols)):
        v = normals[j:, j].copy()
        s = 1.0 if v[0] >= 0 else -1.0
        v[0] += s * math.sqrt(float(v @ v))
        if v[0] == 0:                  # all draws zero: any reflection will do
            v[0] = 1.0
        signs[j] = -s
        q[j:, j:] -= np.outer(v, (2.0 / (v @ v)) * (v @ q[j:, j:]))
    return q * signs


# ------------------------------------------------------------------------- 16-bit storage
# A 16-bit array in an update is widened to float32, updated as float32 (the twins above, on
# float32 copies), and each stored value rounded once (csrc/lowp.h). Rounding, in float64
# arithmetic on the value (exact here): lo = |x| rounded toward zero to the format, gap the
# format's spacing there (2^-133 / 2^-24 below the normal range), frac = (|x| - lo) / gap;
# stochastic rounding with r, `bits` random bits, gives lo + gap when r + frac * 2^bits
# >= 2^bits (probability frac: unbiased), else lo; the sign is put back; NaN and inf stay.
LOWP_FORMATS = {"bfloat16": (8, -133, 16), "float16": (11, -24, 13)}   # significand bits,
                                                                       # log2 of the smallest
                                                                       # spacing, random bits


def rounding_key(seed, step, tensor, slot, hi=0):
    """The key of the rounding bits of argument `slot` of tensor `tensor` at `step`, for the
    element pairs j with j >> 32 == hi: words 0 and 1 (the second made odd) of the Philox
    block with counter (step >> 32, 2^31 | hi, tensor | slot << 24, step & 0xFFFFFFFF)."""
    words = philox4x32((step >> 32, 0x80000000 | hi, tensor | (slot << 24), step & MASK32),
                       (seed & MASK32, seed >> 32))
    return words[0], words[1] | 1


def rounding_word(key, j):
    """The 32 bits of element pairs j (a uint32 array) under `key`: j ^ key[0] times key[1],
    then two multiply-xorshift rounds (modulo 2**32)."""
    x = (j ^ np.uint32(key[0])) * np.uint32(key[1])
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x21F0AAAD)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x735A2D97)
    x ^= x >> np.uint32(15)
    return x


def rounding_bits(seed, step, tensor, slot, n, start=0):
    """The 16 random bits of elements start .. start + n - 1 of argument `slot` (0 params,
    2.. state) of tensor `tensor` at `step`: the low (e even) or high (e odd) half of the word
    of element pair e // 2 (rounding_word, keyed by rounding_key)."""
    pairs = np.arange(start // 2, (start + n + 1) // 2, dtype=np.uint64)
    words = np.empty(pairs.size, np.uint32)
    for hi in np.unique(pairs >> np.uint64(32)).tolist():
        run = (pairs >> np.uint64(32)) == hi
        key = rounding_key(seed, step, tensor, slot, hi)
        with np.errstate(over="ignore"):
            words[run] = rounding_word(key, (pairs[run] & np.uint64(MASK32)).astype(np.uint32))
    halves = np.stack([words & np.uint32(0xFFFF), words >> np.uint32(16)], axis=1)
    return halves.reshape(-1)[start % 2:start % 2 + n].astype(np.uint16)


def round_to_16bit(x, dtype, rounding="stochastic", noise=None):
    """float32 values x rounded to `dtype` ("bfloat16" needs ml_dtypes, or "float16"):
    "nearest" by astype (ties to even); "stochastic" as above, with noise the 16 random bits
    per element (float16 uses the top 13)."""
    name = np.dtype(dtype).name
    x = np.asarray(x, np.float32)
    if rounding == "nearest":
        return x.astype(dtype)
    digits, tiny, bits = LOWP_FORMATS[name]
    r = noise.astype(np.float64) if name == "bfloat16" else (noise >> 3).astype(np.float64)
    mag = np.abs(x.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        _, e = np.frexp(mag)
        gap = np.maximum(np.ldexp(1.0, e - digits), 2.0 ** tiny)
        lo = np.floor(mag / gap) * gap
        frac = (mag - lo) / gap
        up = r + frac * 2.0 ** bits >= 2.0 ** bits
        out = np.where(up, lo + gap, lo)
        out = np.where(np.isfinite(mag), out, mag)     # inf stays inf, NaN stays NaN
    with np.errstate(over="ignore"):
        return np.copysign(out, x).astype(dtype)      # exact, or inf beyond the format


def lowp_step(update, arrays, written, seed=0, step=1, rounding="stochastic", slots=None,
              ids=None, compensation=None):
    """One update on 16-bit (or float32) arrays as the kernels do it: `arrays` a dict of name
    -> list of arrays (params, grads, state; any of float32, bfloat16, float16), `update` a
    function taking the same dict of float32 copies and updating them in place (a twin
    above, or a pywd kernel), `written` the names it writes, `slots` each name's argument
    slot (pywd.h: params 0, grads 1, state 2.., decay_to 5; default their order). Each
    written 16-bit array gets its float32 result rounded once (rounding_bits keyed by seed,
    step, the tensor's index in the list (or ids[i]) and the slot). With `compensation`
    (arrays like the 16-bit params), params are Kahan-summed instead: in float32,
    s = c + (new - old); w = nearest(old + s); c = nearest(s - (w - old))."""
    slots = slots or {name: k for k, name in enumerate(arrays)}
    wide = {name: [a.astype(np.float32) for a in values] for name, values in arrays.items()}
    old = [w.copy() for w in wide["params"]]
    update(wide)
    if compensation is not None:
        for w, before, new, c in zip(arrays["params"], old, wide["params"], compensation):
            total = c.astype(np.float32) + (new - before)
            w[...] = (before + total).astype(w.dtype)
            c[...] = (total - (w.astype(np.float32) - before)).astype(c.dtype)
        written = [name for name in written if name != "params"]
    for name in written:
        for i, (a, w) in enumerate(zip(arrays[name], wide[name])):
            if a.dtype == np.float32:
                a[...] = w
                continue
            noise = None
            if rounding == "stochastic":
                tensor = i if ids is None else ids[i]
                noise = rounding_bits(seed, step, tensor, slots[name], w.size)
                noise = noise.reshape(w.shape, order="F" if w.flags.f_contiguous and
                                      not w.flags.c_contiguous else "C")
            a[...] = round_to_16bit(w, a.dtype, rounding, noise)


# ------------------------------------------------------------------ 8-bit block-quantised state
# bitsandbytes' blockwise format: blocks of Q8_BLOCK elements from a tensor's start (the last
# may be shorter), one float32 absmax per block, a uint8 code per element indexing one of
# two 256-value maps (the signed dynamic map for state that changes sign, the unsigned one
# for non-negative state). A value v of a block with absmax m is stored as the code whose
# map value is nearest v * (1/m) (clamped to [-1, 1]), and read back as map[code] * m.
Q8_BLOCK = 256


def _torch_linspace_f32(start, end, steps):
    """torch.linspace(start, end, steps, dtype=float32), bit for bit: float32 step, the first
    half from start and the rest from end, each as one fused multiply-add (emulated in
    float64, where the float32 product is exact)."""
    f = np.float32
    start, end = f(start), f(end)
    step = (end - start) / f(steps - 1)
    i = np.arange(steps)
    low = (np.float64(start) + np.float64(step) * i).astype(f)
    high = (np.float64(end) - np.float64(step) * (steps - 1 - i)).astype(f)
    return np.where(i < steps // 2, low, high)


def dynamic_map(signed=True):
    """bitsandbytes' dynamic quantisation map (functional.create_dynamic_map with 7 exponent
    bits of 8; Dettmers et al. 2022, arXiv 2110.02861), bit for bit: for each decimal
    exponent e = -6..0, the midpoints of a float32 linspace(0.1, 1) of 2^i + 1 points (2^(i+1)
    + 1 unsigned), times 10^e in float32, with their negatives when signed; then 0 and 1, zeros to
    256 values, sorted. 256 float32 values in [-1, 1] ([0, 1] unsigned)."""
    data = []
    for i in range(7):
        points = _torch_linspace_f32(0.1, 1.0, 2 ** i + 1 if signed else 2 ** (i + 1) + 1)
        means = (points[:-1] + points[1:]) / np.float32(2)
        scale = np.float32(10.0 ** (i - 6))          # (a Python float times a float32
        data += list(scale * means)                  # tensor: a float32 product)
        if signed:
            data += list(-scale * means)
    data += [0.0, 1.0]
    data += [0.0] * (256 - len(data))
    return np.array(sorted(data), dtype=np.float32)


def q8_blocks(size):
    """The number of blocks of a tensor of `size` elements."""
    return -(-size // Q8_BLOCK)


def q8_encode(values, signed=True):
    """float32 `values` (any shape) as (codes, absmax): codes uint8 of values' shape, absmax
    float32 per block of the values in memory order (C, or F for a column-major array). A
    block's scale is its largest magnitude (NaN if it holds a NaN); its values are multiplied by the float32 reciprocal of
    the scale (1e-38 for an all-zero block) and clamped to [-1, 1]; the code is the number
    of the map's float32 midpoints below that (bitsandbytes' bucketize: the nearest value,
    the lower one on a tie; a NaN gets code 255)."""
    values = np.asarray(values, dtype=np.float32)
    order = _memory_order(values)
    x = values.ravel(order=order)           # blocks run through memory, as the kernels'
    n = x.size
    blocks = q8_blocks(n)
    padded = np.zeros(blocks * Q8_BLOCK, np.float32)
    padded[:n] = x
    grid = padded.reshape(blocks, Q8_BLOCK)
    with np.errstate(invalid="ignore"):
        absmax = np.abs(grid).max(axis=1)       # NaN propagates, as torch's max
        scale = np.where(absmax < np.float32(1e-38), np.float32(1e-38), absmax)
        inv = (np.float32(1) / scale).astype(np.float32)
        normed = np.clip(grid * inv[:, None], np.float32(-1), np.float32(1))
    table = dynamic_map(signed)
    mids = ((table[:-1] + table[1:]) / np.float32(2)).astype(np.float32)
    codes = np.searchsorted(mids, normed.ravel()[:n], side="left").astype(np.uint8)
    return codes.reshape(values.shape, order=order), absmax.astype(np.float32)


def q8_decode(codes, absmax, signed=True):
    """The float32 values of (codes, absmax): map[code] * its block's absmax."""
    codes = np.asarray(codes)
    order = _memory_order(codes)
    flat = codes.ravel(order=order)
    scale = np.repeat(np.asarray(absmax, np.float32), Q8_BLOCK)[:flat.size]
    with np.errstate(invalid="ignore"):     # (a NaN or infinite scale: its block's values)
        return (dynamic_map(signed)[flat] * scale).reshape(codes.shape, order=order)


def _memory_order(a):
    """"F" for an array laid out column-major (and not also row-major), else "C"."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def q8_step(update, arrays, quantized):
    """One update with some state arguments 8-bit as the kernels do it: `arrays` a dict of
    name -> list of arrays, where the names in `quantized` hold (codes, absmax, signed)
    triples instead; `update` takes a dict of float32 arrays and updates them in place (a
    twin above). The quantised state is decoded, updated in float32 and encoded again with
    each block's new absmax; codes and absmax are written in place."""
    wide = {name: ([q8_decode(*q) for q in values] if name in quantized else
                   [np.asarray(a, np.float32).copy() for a in values])
            for name, values in arrays.items()}
    update(wide)
    for name, values in arrays.items():
        for a, w in zip(values, wide[name]):
            if name in quantized:
                codes, absmax, signed = a
                codes[...], absmax[...] = q8_encode(w, signed)
            else:
                a[...] = w


def lerp(start, end, weight):
    """torch.lerp's formula: start + weight*(end - start), from the nearer end."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end + (weight - 1) * (end - start)


def _schedulefree(params, grads, zs, exp_avg_sqs, *, step, average_weight, lr, beta1,
                  beta2, eps, weight_decay, decay, max_lr, cautious_decay, decay_to,
                  maximize, nonfinite, grad_scale, max_grad_norm):
    """Schedule-free (Defazio et al. 2024; the schedulefree package's memory-efficient
    form): y (the params) and z carry the state, x = (y - (1 - beta1) z) / beta1 is
    implied. The step on z (Adam's direction, or the gradient's without exp_avg_sqs), with
    the decay taken at y, then y moved as x = (1 - c) x + c z_new and y = beta1 x +
    (1 - beta1) z_new require."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    c = average_weight
    bias_correction2 = 1 - beta2 ** step
    params = _as_list(params)
    moments = _as_list(exp_avg_sqs) if exp_avg_sqs is not None else [None] * len(params)
    for y, g, z, v, a in zip(params, grads, _as_list(zs), moments,
                             _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(y, g, weight_decay, decay, a)
        if v is not None:                           # AdamW: Adam's direction, no momentum
            v[...] = beta2 * v + (1 - beta2) * (g * g)
            u = g / (np.sqrt(v / bias_correction2) + eps)
        else:                                       # SGD
            u = g
        if weight_decay != 0 and decay == "l1":     # proximal step on z
            z_new = soft_threshold(_offset(z - lr * u, a), lr * weight_decay)
            z_new = z_new if a is None else a + z_new
            dz = z - z_new
        else:
            dz = lr * u
            if weight_decay != 0 and decay in MULTIPLICATIVE:   # decay taken at y
                x = _offset(y, a)
                pull = decay_rate(lr, weight_decay, decay, max_lr) * x
                if cautious_decay:
                    pull = np.where(u * x < 0, 0, pull)
                dz = dz + pull
            z_new = z - dz
        y[...] = lerp(y, z, c) - (1 - beta1 * (1 - c)) * dz
        z[...] = z_new
    return outcome


def adamw_schedulefree(params, grads, zs, exp_avg_sqs, *, step, average_weight, lr=0.0025,
                       beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decay="decoupled",
                       max_lr=None, cautious_decay=False, decay_to=None, maximize=False,
                       nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """Schedule-free AdamW (Defazio et al. 2024, Algorithm 1; the package's order)."""
    return _schedulefree(params, grads, zs, exp_avg_sqs, step=step,
                         average_weight=average_weight, lr=lr, beta1=beta1, beta2=beta2,
                         eps=eps, weight_decay=weight_decay, decay=decay, max_lr=max_lr,
                         cautious_decay=cautious_decay, decay_to=decay_to, maximize=maximize,
                         nonfinite=nonfinite, grad_scale=grad_scale,
                         max_grad_norm=max_grad_norm)


def sgd_schedulefree(params, grads, zs, *, average_weight, lr=1.0, momentum=0.9,
                     weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
                     decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
                     max_grad_norm=None, step=None):
    """Schedule-free SGD (Defazio et al. 2024; the package's order): momentum is beta1."""
    return _schedulefree(params, grads, zs, None, step=1, average_weight=average_weight,
                         lr=lr, beta1=momentum, beta2=0.0, eps=0.0,
                         weight_decay=weight_decay, decay=decay, max_lr=max_lr,
                         cautious_decay=cautious_decay, decay_to=decay_to, maximize=maximize,
                         nonfinite=nonfinite, grad_scale=grad_scale,
                         max_grad_norm=max_grad_norm)


def newton_schulz(u, coefficients=(3.4445, -4.7750, 2.0315), steps=5, eps=1e-7):
    """Muon's orthogonalisation (torch's _zeropower_via_newtonschulz, in float32): about
    U V^T for u = U S V^T, by the quintic x <- a x + (b s + c s^2) x, s = x x^T, from
    x = u / ||u|| (transposed so that x is wide)."""
    a, b, c = coefficients
    x = np.array(u, dtype=np.float32)
    wide = x.shape[0] > x.shape[1]
    if wide:
        x = x.T
    x /= max(float(np.linalg.norm(x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if wide else x


def muon_lr(lr, adjust_lr_fn, shape):
    """torch's adjusted lr: lr sqrt(max(1, A/B)) ("original"), lr 0.2 sqrt(max(A, B))."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr * math.sqrt(max(1, rows / cols)) if cols else lr


def muon(params, grads, momentum_buffers, *, lr=1e-3, weight_decay=0.1, momentum=0.95,
         nesterov=True, ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5,
         adjust_lr_fn=None, decay="decoupled", max_lr=None, cautious_decay=False,
         decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None, step=None):
    """Muon (Jordan et al. 2024; torch.optim.Muon's order): momentum as an average, the
    Nesterov look-ahead, the orthogonalised direction, decay with the unadjusted lr."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    for w, g, b, a in zip(params, grads, _as_list(momentum_buffers),
                          _anchors(decay_to, len(params))):
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        b[...] = lerp(b, g, 1 - momentum)
        u = lerp(g, b, momentum) if nesterov else b
        o = newton_schulz(u, ns_coefficients, ns_steps, eps).astype(
            np.float64 if w.dtype == np.float64 else np.float32)
        step_size = muon_lr(lr, adjust_lr_fn, w.shape)
        _apply_update(w, step_size * o, lr, weight_decay, decay, max_lr, cautious_decay, a)
    return outcome


def _sum_sq(x):
    """sum(x**2) in float64."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(x * x))


def adafactor(params, grads, row_vars, col_vars, variances, *, step, lr=1e-2,
              beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, decay="decoupled",
              max_lr=None, cautious_decay=False, decay_to=None, maximize=False,
              nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """Adafactor (Shazeer & Stern 2018; torch.optim.Adafactor's order): a second moment
    factored into row and column means over the last two axes (a full one for vectors),
    a relative step size alpha from the weights' RMS, the update's RMS clipped to d. The
    means and norms are summed in float64 and rounded once (as the kernel does; torch sums
    in the params' dtype)."""
    _check_mode(decay, cautious_decay)
    grads, outcome = _prepare_grads(grads, nonfinite, grad_scale, max_grad_norm)
    if grads is None:
        return outcome
    params = _as_list(params)
    n = len(params)
    nones = [None] * n
    beta = float(step) ** beta2_decay
    rho = min(lr, 1 / float(step) ** 0.5)
    for w, g, row, col, var, a in zip(params, grads,
                                      nones if row_vars is None else _as_list(row_vars),
                                      nones if col_vars is None else _as_list(col_vars),
                                      nones if variances is None else _as_list(variances),
                                      _anchors(decay_to, n)):
        if w.size == 0:
            continue                             # torch divides by the size
        real = w.dtype.type
        eps1 = real(np.finfo(w.dtype).eps if eps[0] is None else eps[0])
        if maximize:
            g = -g
        g = _decay_terms(w, g, weight_decay, decay, a)
        alpha = max(eps[1], math.sqrt(_sum_sq(w)) / math.sqrt(w.size)) * rho
        if w.ndim >= 2:
            squares = g.astype(np.float64) ** 2
            row[...] = lerp(row, (squares.sum(-1, keepdims=True) / w.shape[-1]).astype(real),
                            beta)
            col[...] = lerp(col, (squares.sum(-2, keepdims=True) / w.shape[-2]).astype(real),
                            beta)
            mean = (row.astype(np.float64).sum(-2, keepdims=True) / w.shape[-2]).astype(real)
            v = row * col / np.maximum(mean, eps1)          # NaN stays NaN, as torch's clamp
        else:
            var[...] = lerp(var, g * g, beta)
            v = var
        u = 1 / np.sqrt(np.maximum(v, eps1 * eps1)) * g
        step_size = alpha / max(1.0, math.sqrt(_sum_sq(u)) / (math.sqrt(w.size) * d))
        _apply_update(w, real(step_size) * u, lr, weight_decay, decay, max_lr, cautious_decay,
                      a)
    return outcome
