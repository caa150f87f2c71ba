"""show_config: what this build of pywd is and how it will run."""
import os
import platform
import sys
from typing import IO, Any

import numpy

from . import _kernels, memory
from ._version import __version__


def config() -> dict[str, Any]:
    """The build and run-time configuration as a dict (what :func:`show_config` prints)."""
    return {
        "pywd": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "openmp": _kernels._openmp_enabled(),
        "threading": ("OpenMP" if _kernels._openmp_enabled() else
                      "serial build: one thread per call (built without OpenMP: "
                      "PYWD_NO_OPENMP=1, or a compiler without it such as Apple clang)"),
        "threads": _kernels.get_num_threads(),
        "isa": _isa(),
        "compile_flags": _kernels._compile_flags(),
        "extension": _kernels.__file__,
        "transparent_hugepages": memory.thp_mode(),
        "allocator": memory.describe(),
    }


UNITS = ("baseline", "avx2", "avx512")   # what PYWD_ISA may ask for (csrc/cpu.c)


def _isa() -> str:
    """The unit the kernels run (and whether it rounds to bfloat16 with AVX512-BF16's
    instruction: PYWD_NO_AVX512_BF16=1 keeps the integer rounding, the same bytes), and why
    when it is not the widest the CPU has (or when PYWD_ISA names no unit, which the kernels
    ignore)."""
    isa, widest, asked = _kernels._isa(), _kernels._isa_supported(), os.environ.get("PYWD_ISA")
    if _kernels._avx512bf16():
        isa += " with AVX512-BF16 (bfloat16 rounded to nearest by its instruction)"
    if asked is not None and asked not in UNITS:
        return f"{isa} (PYWD_ISA={asked!r} is not one of {', '.join(UNITS)}: ignored)"
    return isa if widest in isa else f"{isa} (PYWD_ISA={asked}; the CPU runs {widest})"


def show_config(file: IO[str] | None = None) -> None:
    """Prints pywd's version, whether OpenMP is on, the thread count, the compile flags, the
    transparent huge page mode and what pywd's allocator gets (:mod:`pywd.memory`).

    NumPy equivalent: ``numpy.show_config()``. torch: ``print(torch.__config__.show())``.
    """
    for key, value in config().items():
        print(f"{key:>14}: {value}", file=file or sys.stdout)
