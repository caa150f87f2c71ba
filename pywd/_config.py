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
        "isa_units": ", ".join(_kernels._isa_units()),   # built, and run by this CPU
        "compile_flags": _kernels._compile_flags(),
        "extension": _kernels.__file__,
        "transparent_hugepages": memory.thp_mode(),
        "allocator": memory.describe(),
    }


UNITS = ("baseline", "avx2", "avx512")   # what PYWD_ISA may ask for (csrc/cpu.c)
# the AVX-512 unit's optional instructions, where the CPU has them, and what they do
EXTENSIONS = {
    "AVX512-BF16 (bfloat16 rounded to nearest by its instruction)": _kernels._avx512bf16,
    "AVX512-VBMI (8-bit state decoded by byte permutes)": _kernels._avx512vbmi,
}


def _isa() -> str:
    """The unit the kernels run (and the extensions it uses: AVX512-BF16's rounding to
    bfloat16, AVX512-VBMI's decoding of 8-bit state; PYWD_NO_AVX512_BF16=1 and
    PYWD_NO_AVX512_VBMI=1 turn them off, the same bytes either way), and why when it is not
    the widest the CPU has (or when PYWD_ISA names no unit, which the kernels ignore)."""
    isa, widest, asked = _kernels._isa(), _kernels._isa_supported(), os.environ.get("PYWD_ISA")
    uses = [name for name, used in EXTENSIONS.items() if used()]
    if uses:
        isa += " with " + " and ".join(uses)
    if asked is not None and asked not in UNITS:
        return f"{isa} (PYWD_ISA={asked!r} is not one of {', '.join(UNITS)}: ignored)"
    if widest in isa:
        return isa
    left_out = "" if asked in _kernels._isa_units() else ", a unit this build leaves out"
    return f"{isa} (PYWD_ISA={asked}{left_out}; the CPU runs {widest})"


def show_config(file: IO[str] | None = None) -> None:
    """Prints pywd's version, whether OpenMP is on, the thread count, the compile flags, the
    transparent huge page mode and what pywd's allocator gets (:mod:`pywd.memory`).

    NumPy equivalent: ``numpy.show_config()``. torch: ``print(torch.__config__.show())``.
    """
    for key, value in config().items():
        print(f"{key:>14}: {value}", file=file or sys.stdout)
