"""Importing pywd from its source checkout.

`python -m pywd bench` run in the repository root finds the source tree first (Python puts
the current directory on sys.path), and the source tree has no compiled extension. Rather
than fail, borrow the compiled extension of the installed pywd (`pip install .`), whose
directory is added to the package's search path; with none installed, say what to do.
"""
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.metadata import distributions

NOT_BUILT = (
    "pywd's compiled extension pywd._kernels was not found: pywd is imported from {where}, "
    "which looks like a source checkout with no installed build. Run `pip install .` "
    "(then import pywd from anywhere), or build in place with "
    "`python setup.py build_ext --inplace`."
)


def use_installed_extension(package_path):
    """Appends the installed pywd's directory to `package_path` (the package's __path__)
    if it holds the compiled extension; raises ImportError otherwise."""
    # every pywd on sys.path: a source checkout's pywd.egg-info lists sources, not builds
    for dist in distributions(name="pywd"):
        for f in dist.files or []:
            if (len(f.parts) == 2 and f.parts[0] == "pywd"
                    and any(f.name == "_kernels" + suffix for suffix in EXTENSION_SUFFIXES)
                    and f.locate().exists()):
                installed = str(f.locate().parent)
                if installed not in package_path:
                    package_path.append(installed)
                return
    raise ImportError(NOT_BUILT.format(where=list(package_path)[0]))
