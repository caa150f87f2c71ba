"""`python -m pywd.demo`: the two questions pywd was born from, answered by running code.

"Why apply weight decay? Isn't it just L2 regularisation?" and "why do we care about
initialisation if the network learns the weights anyway?" Twelve small experiments, on data
made in code and (the ninth to twelfth, with scikit-learn) on real handwritten digits, with
NumPy networks (nets.py) trained by pywd's update functions and optimisers and initialised by
pywd.init; each prints its numbers and, when matplotlib is installed (``pip install
'pywd[demo]'``, which brings scikit-learn too), saves a PNG. ``run(quick=True)`` returns the
numbers (the tests assert them).
"""
from .experiments import EXPERIMENTS, run

__all__ = ["EXPERIMENTS", "run"]
