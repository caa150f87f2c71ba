# ASGD: functional, in place, one C call per list.

from libc.math cimport pow

def asgd(params, grads, axs, *, step, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, eta=None,
         mu=None, weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
         decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None, rounding="stochastic", rng=None, compensation=None, stats=None):
    """One ASGD step (averaged SGD: Polyak & Juditsky 1992, with the step-size schedule of
    Bottou 2012), in place, with weight decay fused in: ``torch.optim.ASGD``'s step.

    For each parameter ``w`` with gradient ``g`` and running average ``ax``, at step ``t``
    (``step``, counted from 1), with the step size ``eta`` and averaging weight ``mu``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch ASGD's weight_decay)
        w = w * (1 - lambd * eta)               ASGD's own decay term
        w = w * (1 - eta * weight_decay)        decay="decoupled" ("independent",
                                                "corrected": as :func:`sgd`, eta as lr)
        w = w - eta * g
        w = sign(w) * max(|w| - eta * weight_decay, 0)    decay="l1"
        ax = ax + (w - ax) * mu                 (ax = w while mu is 1)

    By default eta and mu follow torch's schedule, with each step's values computed after
    the step before it (so step 1 has ``eta = lr``, ``mu = 1``)::

        eta = lr / (1 + lambd * lr * (t - 1)) ** alpha
        mu = 1 / max(1, t - 1 - t0)

    ``ax`` is the Polyak average of the weights after step ``t0``: evaluate with it. NumPy
    equivalent: the lines above, about 10 passes over memory; pywd makes one pass and one C
    call per list. torch equivalent: ``torch.optim.ASGD`` (``decay="l2"``, the default).

    Defaults are those of the optimiser class of the same name: torch's (``lr=1e-2``,
    ``lambd=1e-4``, ``alpha=0.75``, ``t0=1e6``; ``weight_decay`` as coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    axs : ndarray or list/tuple of ndarray
        The running averages of the weights (torch's state "ax"), like params, updated in
        place. Start at zeros.
    step : int
        The step being taken, >= 1.
    lr, lambd, alpha : float
        The schedule's learning rate, decay term and power, each >= 0.
    t0 : float
        The step after which averaging starts (finite).
    eta, mu : float or None
        This step's step size (>= 0) and averaging weight (in [0, 1]): torch's state "eta"
        and "mu" before the step, which follow a changing lr as the class does. None: the
        schedule above for a constant lr.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`, with eta as the modes' lr (the default ``decay="l2"`` is torch's).
    {decay_options}
    {stats_option}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus step < 1, a negative lr, lambd, alpha or eta, a t0 that is not
        finite, mu outside [0, 1]; before any array is modified.
    """
    cdef pywd_asgd_hyper h
    cdef int64_t t = check_step(step)
    cdef double rate = check_real(lr, "lr", 0.0, INFINITY)
    cdef double power = check_real(alpha, "alpha", 0.0, INFINITY)
    cdef double start = as_real(t0, "t0")
    if not isfinite(start):
        raise ValueError(f"t0 must be a finite number, got {t0!r}")
    h.lambd = check_real(lambd, "lambd", 0.0, INFINITY)
    scheduled = asgd_schedule(rate, h.lambd, power, start, <double>(t - 1))
    h.eta = scheduled[0] if eta is None else check_real(eta, "eta", 0.0, INFINITY)
    h.mu = scheduled[1] if mu is None else check_real(mu, "mu", 0.0, 1.0)
    parse_decay_spec(&h.decay, decay, weight_decay, max_lr, cautious_decay, h.eta)
    h.maximize = check_bool(maximize, "maximize")
    return asgd_update(&h, params, grads, axs, decay_to, compensation, nonfinite, grad_scale,
                       max_grad_norm, rounding, rng, t, stats=stats)


cpdef tuple asgd_schedule(double lr, double lambd, double alpha, double t0, double steps):
    """torch's (eta, mu) after `steps` steps at lr (Bottou 2012's step size; averaging from
    step t0 on): the defaults of pywd.asgd, and the class's state after each step. libc's
    pow, as Python's float ** (Cython's ** on doubles goes through complex arithmetic)."""
    return lr / pow(1.0 + lambd * lr * steps, alpha), 1.0 / max(1.0, steps - t0)
