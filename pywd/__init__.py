"""pywd: fused optimiser steps with explicit weight decay, for NumPy arrays.

Functional updates (in place, one array or a list of arrays per argument, one C call per
list): :func:`sgd`, :func:`adam`, :func:`adamw`, :func:`rmsprop`, :func:`adagrad`,
:func:`lion`, :func:`decay`. Stateful optimisers: :mod:`pywd.optim`.
Threads: :func:`get_num_threads`, :func:`set_num_threads`; build: :func:`show_config`.
"""
try:
    from . import _kernels
except ImportError:          # imported from the source checkout: see _locate.py
    from ._locate import use_installed_extension
    use_installed_extension(__path__)

from ._kernels import (adagrad, adam, adamw, decay, get_num_threads, lion, rmsprop,
                       set_num_threads, sgd)
from ._config import show_config
from ._version import __version__
from . import optim

__all__ = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lion", "decay", "get_num_threads", "set_num_threads", "show_config", "__version__"]
