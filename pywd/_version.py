from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pywd")
except PackageNotFoundError:  # imported from a build tree, not installed
    __version__ = "0+unknown"
