"""pywd: fused optimiser steps with explicit weight decay, for NumPy arrays.

Functional updates (in place, one array or a list of arrays per argument, one C call per
list): :func:`sgd`, :func:`sgdw`, :func:`adam`, :func:`adamw`, :func:`rmsprop`, :func:`adagrad`,
:func:`lion`, :func:`adamax`, :func:`radam`, :func:`adadelta`, :func:`nadam`, :func:`rprop`,
:func:`asgd`, :func:`lamb`, :func:`lars`, :func:`adamw_schedulefree`,
:func:`sgd_schedulefree`, :func:`muon` (2-D params), :func:`adafactor`, :func:`ademamix`,
:func:`decay`; each
optimiser takes
``nonfinite=``, ``grad_scale=`` and ``max_grad_norm=`` and returns a :class:`StepResult`;
each has the defaults of the :mod:`pywd.optim` class of the same name (``sgd``, ``adam``,
``rmsprop``, ``adagrad``, ``adamax``, ``radam``, ``adadelta``, ``nadam``, ``rprop``, ``asgd``,
``lars``, ``sgd_schedulefree``: L2; ``sgdw``, ``adamw``, ``lion``, ``lamb``,
``adamw_schedulefree``, ``muon``, ``adafactor``, ``ademamix``: decoupled). Stateful optimisers:
:mod:`pywd.optim`;
the same as ``torch.optim.Optimizer`` subclasses for torch training loops: :mod:`pywd.torch`
(imported on its own, as it needs torch).
Initialisers: :mod:`pywd.init`, drawing from :class:`Generator` (Philox4x32-10, counter-based:
the same numbers for any thread count or split); :func:`seed` reseeds the default generator.
Threads: :func:`get_num_threads`, :func:`set_num_threads`; build: :func:`show_config`.
"""
try:
    from . import _kernels
except ImportError:          # imported from the source checkout: see _locate.py
    from ._locate import use_installed_extension
    use_installed_extension(__path__)

from ._kernels import (StepResult, adadelta, adafactor, adagrad, adam, adamax, ademamix, adamw,
                       adamw_schedulefree, asgd, decay, get_num_threads, lamb, lars, lion,
                       muon, nadam, radam, rmsprop, rprop, set_num_threads, sgd,
                       sgd_schedulefree, sgdw)
from ._config import show_config
from ._version import __version__
from ._generator import Generator, default_generator, seed
from .flat import FlatParams
from .memory import empty, empty_like, zeros, zeros_like
from .weight_decay import normalized_weight_decay
from . import init, memory, optim, schedules

__all__ = ["sgd", "sgdw", "adam", "adamw", "rmsprop", "adagrad", "lion", "adamax", "radam",
           "adadelta", "nadam", "rprop", "asgd", "lamb", "lars", "adamw_schedulefree",
           "sgd_schedulefree", "muon", "adafactor", "ademamix", "decay", "StepResult",
           "normalized_weight_decay",
           "FlatParams", "empty", "zeros", "empty_like", "zeros_like", "memory", "schedules",
           "Generator", "seed",
           "default_generator", "init", "optim", "get_num_threads", "set_num_threads",
           "show_config", "__version__"]
