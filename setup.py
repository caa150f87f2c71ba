"""Build pywd._kernels: the Cython glue (pywd/_core/) plus the C99 kernels in csrc/.

Flags: C99, -O3 -fno-math-errno (gcc will not vectorise sqrt otherwise), never -march=native:
a wheel must run on any x86-64 (or aarch64) machine. OpenMP is used when a probe compile
succeeds; PYWD_NO_OPENMP=1 builds a serial extension (which must give the same bytes).
PYWD_SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer (gcc/clang), any
undefined behaviour fatal; run Python with the ASan runtime preloaded, as .ci/run does.
PYWD_UNITS=native builds only the baseline and the widest ISA unit this machine runs (x86
Linux; a build for this machine only, which compiles in about half the time: CI's serial
and sanitizer builds), PYWD_UNITS=baseline,avx2 (say) the units named; unset or "all": every
unit, as a wheel needs.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

from concurrent.futures import ThreadPoolExecutor

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# -ffp-contract=off: no fused multiply-adds behind our back, so every operation rounds as
# pywd/reference.py's does and both ISAs give the same bytes (gcc implies it with -std=c99;
# clang, Apple's included, contracts by default).
BASE_FLAGS = ["-std=c99", "-O3", "-fno-math-errno", "-ffp-contract=off"]
OPENMP_FLAGS = ["-fopenmp"]
OPENMP_PROBE = """
#include <omp.h>
int main(void) { int n = 0;
#pragma omp parallel reduction(+:n)
    n += omp_get_num_threads();
    return n > 0 ? 0 : 1; }
"""


def c_structs(header):
    """{name: [field declarations]} of the header's `typedef struct {...} name;` (comments
    dropped), for the Cython declarations of the kernels' hyper-parameter structs."""
    text = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
    return {name: [" ".join(field.split()) for field in body.split(";") if field.strip()]
            for body, name in re.findall(r"typedef struct \{([^{}]*)\}\s*(\w+);", text)}


def render_templates():
    """pywd/_core/_elementwise.pxi from its Tempita template and the table of optimisers
    (pywd/_optimisers.py, loaded by path: pywd is not built yet), as scikit-learn renders its
    .pyx.tp files. Written only when its text changes, so that a rebuild stays incremental."""
    from Cython import Tempita
    spec = importlib.util.spec_from_file_location("pywd_optimisers", "pywd/_optimisers.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    for template in glob("pywd/_core/*.pxi.tp"):
        with open(template) as f:
            text = Tempita.Template(f.read(), name=template).substitute(
                kernels=table.KERNELS, updates=table.UPDATES, checks=table.CHECKS,
                unsigned_slots=table.unsigned_slots, structs=c_structs("csrc/pywd.h"))
        target = template[:-len(".tp")]
        if not os.path.exists(target) or open(target).read() != text:
            with open(target, "w") as f:
                f.write(text)


def compiler_command():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def compiles(source, flags):
    """True if the C compiler builds and links `source` with `flags` (a probe, as autoconf does)."""
    tmp = tempfile.mkdtemp(prefix="pywd-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        cmd = compiler_command() + flags + [src, "-o", os.path.join(tmp, "probe")]
        return subprocess.run(cmd, capture_output=True).returncode == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def openmp_flags():
    if os.environ.get("PYWD_NO_OPENMP", "") not in ("", "0"):
        print("pywd: PYWD_NO_OPENMP set: building without OpenMP", file=sys.stderr)
        return []
    if sys.platform == "win32":
        return ["/openmp"]
    if compiles(OPENMP_PROBE, OPENMP_FLAGS):
        return OPENMP_FLAGS
    print("pywd: the compiler does not support OpenMP: building serially", file=sys.stderr)
    return []


def sanitizer_flags():
    if os.environ.get("PYWD_SANITIZE", "") in ("", "0"):
        return [], []
    if sys.platform == "win32":
        sys.exit("pywd: PYWD_SANITIZE=1 needs gcc or clang")
    print("pywd: PYWD_SANITIZE set: building with -fsanitize=address,undefined", file=sys.stderr)
    sanitize = ["-fsanitize=address,undefined"]
    return sanitize + ["-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"], sanitize


UNITS = ("baseline", "avx2", "avx512")   # csrc/cpu.c's names


def native_unit():
    """The widest unit this machine runs, from /proc/cpuinfo's flags (csrc/cpu.c's test,
    less the OS's AVX-512 state, which the kernels check again at run time); "avx512" where
    they cannot be read (every unit is then built)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next(line for line in f if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "avx512"
    if not {"avx2", "fma", "f16c"} <= flags:
        return "baseline"
    return "avx512" if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags else "avx2"


def unit_macros():
    """PYWD_NO_<UNIT>_UNIT for each unit PYWD_UNITS leaves out (the baseline is always
    built)."""
    asked = os.environ.get("PYWD_UNITS", "").strip()
    if asked in ("", "all"):
        return []
    wanted = {"baseline", native_unit()} if asked == "native" else set(asked.split(","))
    unknown = wanted - set(UNITS)
    if unknown:
        sys.exit(f"pywd: PYWD_UNITS names no unit {sorted(unknown)}: give 'all', 'native' or "
                 f"a comma-separated list of {', '.join(UNITS)}")
    left_out = [unit for unit in UNITS[1:] if unit not in wanted]
    print(f"pywd: PYWD_UNITS={asked}: building without the {', '.join(left_out) or 'no'} "
          f"unit(s)", file=sys.stderr)
    return [(f"PYWD_NO_{unit.upper()}_UNIT", "1") for unit in left_out]


def extension():
    omp = openmp_flags()
    if sys.platform == "win32":
        compile_args = ["/O2", "/fp:precise"] + omp
        link_args = []
    else:
        san_compile, san_link = sanitizer_flags()
        compile_args = BASE_FLAGS + omp + san_compile
        link_args = omp + san_link
    config = " ".join(compile_args)
    return Extension(
        "pywd._kernels",
        sources=["pywd/_core/_kernels.pyx"] + sorted(glob("csrc/*.c")),
        include_dirs=["csrc", numpy.get_include()],
        define_macros=[
            ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
            ("PYWD_COMPILE_FLAGS", '"%s"' % config),
        ] + unit_macros(),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        depends=sorted(glob("csrc/*.h") + glob("csrc/optim/*.h") + glob("pywd/_core/*.pxi")),
    )


class ParallelBuildExt(build_ext):
    """Compiles the extension's C files at the same time, one per CPU: setuptools compiles a
    single extension's sources one after another, and pywd's are many (each kernel stamped
    for two dtypes and two ISAs). The same commands, in any order; MSVC stays serial."""

    def build_extensions(self):
        compiler = self.compiler
        if compiler.compiler_type == "unix":
            compiler.compile = _parallel_compile(compiler)
        super().build_extensions()


def _parallel_compile(compiler):
    def compile(sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                extra_preargs=None, extra_postargs=None, depends=None):
        # CCompiler.compile's steps, its loop over the objects run by a pool
        macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj):
            if obj in build:
                src, ext = build[obj]
                compiler._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(one, objects))        # re-raises a failed compile's error
        return objects
    return compile


render_templates()
setup(
    cmdclass={"build_ext": ParallelBuildExt},
    ext_modules=cythonize(
        [extension()],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
