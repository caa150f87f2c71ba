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
import sys

from .. import lr_scheduler
from . import _docs
from ..weight_decay import param_groups_weight_decay
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .ademamix import AdEMAMix
from .adamax import Adamax
from .lamb import Lamb
from .lars import LARS
from .asgd import ASGD
from .lion import Lion
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedulefree import AdamWScheduleFree, SGDScheduleFree
from .sgd import SGD, SGDW

# torch.optim.lr_scheduler's place: `from pywd.optim.lr_scheduler import StepLR` works too
sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler

__all__ = ["Optimizer", "SGD", "SGDW", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion",
           "Adamax", "RAdam", "Adadelta", "NAdam", "Rprop",
           "ASGD", "Lamb", "LARS", "AdamWScheduleFree", "SGDScheduleFree", "Muon", "Adafactor",
           "AdEMAMix", "param_groups_weight_decay"]

# every class documents every option it takes (pywd/optim/_docs.py)
for _name in __all__[1:-1]:
    _docs.document(globals()[_name], _docs.functionals(globals()[_name]))
del _name
