# Schedule-free AdamW and SGD: functional, in place, one C call per list.

SCHEDULEFREE_DOC = """
    Schedule-free learning (Defazio et al. 2024, "The Road Less Scheduled") keeps three
    sequences: ``z`` takes the optimiser's steps, ``x`` is their weighted average (the
    weights to evaluate with, with no decaying schedule needed) and ``y``, where gradients
    are taken, lies between them: ``y = beta1 * x + (1 - beta1) * z``. The params hold
    ``y``; ``x = (y - (1 - beta1) * z) / beta1`` (the classes' ``eval()``). One step::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * y                decay="l2"
        {direction}
        dz = lr * u + weight_decay * lr * y     decay="decoupled" (the schedulefree
                                                package's weight_decay, taken at y);
                                                "independent": weight_decay * lr / max_lr,
                                                "corrected": weight_decay * lr**2 / max_lr
                                                for weight_decay * lr
        z_new = z - dz                          decay="l1": z_new = soft(z - lr * u,
                                                lr * weight_decay), dz = z - z_new
        y = lerp(y, z, c) - (1 - beta1 * (1 - c)) * dz
        z = z_new

    with ``c = average_weight`` (``x`` moves to ``(1 - c) * x + c * z_new``) and lerp
    as torch's (``y + c * (z - y)``, or ``z + (c - 1) * (z - y)`` for ``c >= 0.5``).
    With ``decay_to`` the decay acts on ``y - w0`` (and "l1" around ``w0``); with
    ``cautious_decay`` the decay term is left out where ``u * (y - w0) < 0``.

    NumPy equivalent: the lines above, about a dozen passes over memory; pywd makes one
    pass and one C call per list. The warmup, the average's weights and the x/y swap are
    the class's (:class:`pywd.optim.{cls}`): the package's order, step for step.
"""


def adamw_schedulefree(params, grads, zs, exp_avg_sqs, *, step, average_weight, lr=0.0025,
                       beta1=0.9, beta2=0.999, betas=None, eps=1e-8, weight_decay=0.0,
                       decay="decoupled", max_lr=None, cautious_decay=False, decay_to=None,
                       maximize=False, nonfinite="propagate", grad_scale=1.0,
                       max_grad_norm=None, rounding="stochastic", rng=None, compensation=None):
    """One schedule-free AdamW step, in place: the ``schedulefree`` package's
    ``AdamWScheduleFree`` step (torch has none).
    {schedulefree}
    Defaults are those of the class of the same name: the package's (``lr=0.0025``,
    ``weight_decay`` taken at y, ``decay="decoupled"``).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        y (updated in place) and its gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    zs, exp_avg_sqs : ndarray or list/tuple of ndarray
        The z sequence (the package's state "z": a copy of the params at first) and the
        second moments ("exp_avg_sq": zeros at first), like params, updated in place.
    step : int
        The step being taken, >= 1 (the second moment's bias correction).
    average_weight : float
        c, in [0, 1]: the package's ``ckp1`` (``1 / step`` for a constant lr and r=0).
    lr : float
        This step's learning rate (warmup applied), >= 0.
    beta1, beta2 : float
        The interpolation between x and z, and the second moment's decay rate, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    eps : float
        Added to the root of the second moment, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`, acting at y as above (the default "decoupled" is the package's).
    {decay_options}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus step < 1, average_weight outside [0, 1], betas outside
        [0, 1), eps < 0; before any array is modified.
    """
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.999))
    return _schedulefree(True, params, grads, zs, exp_avg_sqs, step, average_weight, lr,
                         beta1, "beta1", beta2, eps, weight_decay, decay, max_lr, cautious_decay,
                         decay_to, maximize, nonfinite, grad_scale, max_grad_norm, rounding,
                         rng, compensation)


def sgd_schedulefree(params, grads, zs, *, average_weight, lr=1.0, momentum=0.9,
                     weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
                     decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
                     max_grad_norm=None, step=None, rounding="stochastic", rng=None,
                     compensation=None):
    """One schedule-free SGD step, in place: the ``schedulefree`` package's
    ``SGDScheduleFree`` step (torch has none).
    {schedulefree}
    Defaults are those of the class of the same name: the package's (``lr=1``,
    ``momentum=0.9``, ``weight_decay`` as L2 at y, ``decay="l2"``).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        y (updated in place) and its gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    zs : ndarray or list/tuple of ndarray
        The z sequence (the package's state "z": a copy of the params at first), like
        params, updated in place.
    average_weight : float
        c, in [0, 1]: the package's ``ckp1`` (``1 / step`` for a constant lr and r=0).
    lr : float
        This step's learning rate (warmup applied), >= 0.
    momentum : float
        The interpolation between x and z (beta1 above), in [0, 1).
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`, acting at y as above (the default "l2" is the package's).
    {decay_options}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding (see rounding).
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus average_weight outside [0, 1], momentum outside [0, 1); before
        any array is modified.
    """
    return _schedulefree(False, params, grads, zs, None, step, average_weight, lr,
                         momentum, "momentum", 0.0, 0.0, weight_decay, decay, max_lr,
                         cautious_decay, decay_to, maximize, nonfinite, grad_scale,
                         max_grad_norm, rounding, rng, compensation)


cdef object _schedulefree(bint adaptive, params, grads, zs, exp_avg_sqs, step, average_weight,
                          lr, beta1, str beta1_name, beta2, eps, weight_decay, decay, max_lr,
                          cautious_decay, decay_to, maximize, nonfinite, grad_scale,
                          max_grad_norm, rounding, rng, compensation):
    """Both functions' checks and call: AdamW's (adaptive, with exp_avg_sqs) and SGD's."""
    cdef pywd_schedulefree_hyper h
    h.step = check_step(step) if adaptive else 1
    h.adaptive = adaptive
    check_schedulefree_hyper(&h, average_weight=average_weight, lr=lr, beta2=beta2, eps=eps,
                             decay=decay, weight_decay=weight_decay, max_lr=max_lr,
                             cautious_decay=cautious_decay, maximize=maximize)
    h.beta1 = check_beta(beta1, beta1_name)
    return schedulefree_update(&h, params, grads, zs, exp_avg_sqs, decay_to, compensation,
                               nonfinite, grad_scale, max_grad_norm, rounding, rng,
                               h.step if adaptive else step)


def _fill_in_schedulefree_doc():
    """Each function's docstring gets SCHEDULEFREE_DOC, with its direction and class, in
    place of its "{schedulefree}" line (at that line's indentation)."""
    import re, textwrap
    for update, direction, cls in (
            (adamw_schedulefree, "v = beta2 * v + (1 - beta2) * g**2\n"
                                 "        u = g / (sqrt(v / (1 - beta2**step)) + eps)",
             "AdamWScheduleFree"),
            (sgd_schedulefree, "u = g                                   (beta1: momentum)",
             "SGDScheduleFree")):
        text = textwrap.dedent(SCHEDULEFREE_DOC.format(direction=direction, cls=cls))
        update.__doc__ = re.sub(r"^( *)\{schedulefree\}\n",
                                lambda m: textwrap.indent(text, m.group(1)) + "\n",
                                update.__doc__, flags=re.M)


_fill_in_schedulefree_doc()


def _swap(list swaps, list groups, bint train):
    """The schedule-free swap between y and the average x, whole: each (p, z, weight,
    compensation or None) of `swaps` becomes p = lerp(p, z, weight) (torch.lerp's two
    formulas; in float32 for 16-bit params, whose Kahan compensation is folded in first and
    holds the new rounding error after), then each group of `groups` gets train_mode =
    `train`. Only NumPy's C functions run in here, no Python bytecode, so no signal's handler
    (Ctrl-C) can stop it between two parameters: the params are all x or all y."""
    cdef Py_ssize_t k
    for k in range(len(swaps)):
        p, end, weight, compensation = swaps[k]
        work = np.float64 if p.dtype == np.float64 else np.float32
        start = p.astype(work)
        if compensation is not None:
            start += compensation.astype(work)
        end = end.astype(work, copy=False)
        if weight < 0.5:
            new = start + work(weight) * (end - start)
        else:
            new = end + work(weight - 1) * (end - start)
        p[...] = new
        if compensation is not None:
            compensation[...] = new - p.astype(work)
    for k in range(len(groups)):
        (<dict>groups[k])["train_mode"] = train
