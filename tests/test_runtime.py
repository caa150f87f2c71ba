"""Threads, instruction sets and build configuration: results never depend on them."""
import hashlib
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import pywd
from helpers import isa_units
from pywd._config import EXTENSIONS

# Runs every kernel, SGD variant and decay mode, and the gradient-norm reduction, on a list big
# enough to be split across threads (sizes chosen so that slices start mid-array) and prints a
# hash of every resulting byte.
HASH_SCRIPT = r"""
import hashlib, itertools, numpy as np, pywd
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    rng = np.random.default_rng(7)
    sizes = [3, 100_003, 1, 65_537, 17, 250_001]
    for mode, momentum, nesterov in itertools.product(
            ("l2", "decoupled", "independent", "l1"), (0.0, 0.9), (False, True)):
        if nesterov and not momentum:
            continue
        w = [rng.standard_normal(n).astype(dtype) for n in sizes]
        g = [rng.standard_normal(n).astype(dtype) for n in sizes]
        b = [np.zeros(n, dtype) for n in sizes]
        for first in (True, False):
            pywd.sgd(w, g, b, lr=0.1, momentum=momentum, nesterov=nesterov,
                     weight_decay=0.05, decay=mode, first_step=first)
        pywd.decay(w, lr=0.1, weight_decay=0.05, decay=mode)
        for a in w + b:
            h.update(a.tobytes())
    for mode in ("l2", "decoupled", "independent", "l1"):
        w = [rng.standard_normal(n).astype(dtype) for n in sizes]
        g = [rng.standard_normal(n).astype(dtype) for n in sizes]
        s = [[np.zeros(n, dtype) for n in sizes] for _ in range(3)]
        for step in (1, 2):
            pywd.adam(w, g, s[0], s[1], step=step, lr=0.1, weight_decay=0.05, decay=mode,
                      amsgrad=True, max_exp_avg_sqs=s[2])
            pywd.rmsprop(w, g, s[1], s[0], s[2], lr=0.01, momentum=0.9, centered=True,
                         weight_decay=0.05, decay=mode)
            pywd.adagrad(w, g, s[1], step=step, lr=0.1, weight_decay=0.05, decay=mode)
            pywd.lion(w, g, s[0], lr=0.01, weight_decay=0.05, decay=mode)
        for a in w + s[0] + s[1] + s[2]:
            h.update(a.tobytes())
    # the newer optimisers (LAMB's and LARS's norms are threaded reductions too)
    for mode in ("l2", "decoupled", "independent", "l1"):
        w = [rng.standard_normal(n).astype(dtype) for n in sizes]
        g = [rng.standard_normal(n).astype(dtype) for n in sizes]
        s = [[np.abs(rng.standard_normal(n)).astype(dtype) for n in sizes] for _ in range(2)]
        kw = dict(weight_decay=0.05, decay=mode)
        pywd.adamax(w, g, s[0], s[1], step=2, lr=0.01, **kw)
        pywd.radam(w, g, s[0], s[1], step=7, lr=0.01, **kw)
        pywd.adadelta(w, g, s[0], s[1], lr=0.5, **kw)
        pywd.nadam(w, g, s[0], s[1], step=3, lr=0.01, **kw)
        pywd.rprop(w, g, s[0], s[1], lr=0.01, **kw)
        pywd.asgd(w, g, s[0], step=5, lr=0.01, t0=2.0, **kw)
        pywd.lamb(w, g, s[0], s[1], step=3, lr=0.01, **kw)
        pywd.lars(w, g, s[0], lr=0.1, momentum=0.9, **kw)
        pywd.adamw_schedulefree(w, g, s[0], s[1], step=3, average_weight=0.3, lr=0.01, **kw)
        pywd.sgd_schedulefree(w, g, s[0], average_weight=0.6, lr=0.1, **kw)
        for a in w + s[0] + s[1]:
            h.update(a.tobytes())
    # Adafactor's row and column sums (blocks of rows, and of whole small matrices)
    for mode in ("l2", "decoupled", "l1"):
        shapes = [(70, 600), (3000, 3, 4), (40_000, 1, 1), (250_001,)]
        w = [rng.standard_normal(s).astype(dtype) for s in shapes]
        g = [rng.standard_normal(s).astype(dtype) for s in shapes]
        rows = [np.zeros(s[:-1] + (1,), dtype) for s in shapes[:3]] + [None]
        cols = [np.zeros(s[:-2] + (1,) + s[-1:], dtype) for s in shapes[:3]] + [None]
        var = [None, None, None, np.zeros(250_001, dtype)]
        for step in (1, 2):
            pywd.adafactor(w, g, rows, cols, var, step=step, weight_decay=0.05, decay=mode)
        for a in w + rows[:3] + cols[:3] + var[3:]:
            h.update(a.tobytes())
    # the global norm (a threaded reduction) and the clipped step it drives
    result = pywd.sgd(w, g, lr=0.1, max_grad_norm=1.0, grad_scale=3.0)
    h.update(np.float64(result.grad_norm).tobytes())
    for a in w:
        h.update(a.tobytes())
print(h.hexdigest())
"""


def digest(**env):
    out = subprocess.run([sys.executable, "-c", HASH_SCRIPT], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_same_bytes_for_any_thread_count_and_instruction_set():
    one = digest(OMP_NUM_THREADS="1")
    assert digest(OMP_NUM_THREADS="2") == one
    assert digest(OMP_NUM_THREADS="3") == one          # uneven slices, oversubscribed
    for unit in isa_units():                            # every unit this CPU runs
        assert digest(OMP_NUM_THREADS="2", PYWD_ISA=unit) == one, unit


def test_omp_num_threads_is_honoured():
    code = "import pywd; print(pywd.get_num_threads())"
    for n in ("1", "3"):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": n},
                             capture_output=True, text=True, check=True)
        expected = n if _openmp() else "1"
        assert out.stdout.strip() == expected


def _openmp():
    from pywd._config import config
    return config()["openmp"]


def test_set_num_threads_changes_threads_not_results():
    rng = np.random.default_rng(0)
    w0, g = rng.standard_normal(300_001), rng.standard_normal(300_001)
    saved = pywd.get_num_threads()
    results = []
    try:
        for n in (1, 2, 4):
            pywd.set_num_threads(n)
            assert pywd.get_num_threads() == (n if _openmp() else 1)
            w = w0.copy()
            pywd.sgd(w, g, lr=0.1, weight_decay=0.1)
            results.append(hashlib.sha256(w.tobytes()).hexdigest())
    finally:
        pywd.set_num_threads(saved)
    assert len(set(results)) == 1


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                        ("2", TypeError), (True, TypeError)])
def test_set_num_threads_refuses_bad_counts(bad, error):
    with pytest.raises(error, match="n must be an int"):
        pywd.set_num_threads(bad)


def test_threadpoolctl_limits_pywd():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not _openmp():
        pytest.skip("serial build")
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert pywd.get_num_threads() == 1


def test_show_config_names_version_openmp_threads_and_flags(capsys):
    pywd.show_config()
    text = capsys.readouterr().out
    for word in ("pywd", pywd.__version__, "openmp", "threads", "isa", "compile_flags", "-O3"):
        assert word in text
    assert "-march=native" not in text


@pytest.mark.parametrize("asked", ["baseline", "avx2", "avx512", "sse2", ""])
def test_pywd_isa_asks_for_a_unit_and_show_config_says_so(asked):
    """PYWD_ISA picks a unit the CPU runs (at most the one asked for); show_config says which
    runs (and the AVX-512 extensions it uses), why it is not the widest, or
    that the value names no unit."""
    units = isa_units()
    script = "import pywd; from pywd._config import config; print(pywd._kernels._isa()); " \
             "print(config()['isa'])"
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYWD_ISA": asked},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    order = ["baseline", "avx2", "avx512"]
    if asked in order:               # the widest unit at most the one asked (or the widest)
        want = [u for u in units if order.index(u) <= order.index(asked)][-1]
    else:
        want = units[-1]                             # not a unit: ignored
    assert out[0] == want
    if asked in ("sse2", ""):
        assert f"PYWD_ISA={asked!r} is not one of baseline, avx2, avx512" in out[1]
    elif want != units[-1]:
        left_out = "" if asked in units else ", a unit this build leaves out"
        assert out[1] == f"{want} (PYWD_ISA={asked}{left_out}; the CPU runs {units[-1]})"
    else:
        uses = [name for name, used in EXTENSIONS.items() if want == "avx512" and used()]
        assert out[1] == (f"{want} with " + " and ".join(uses) if uses else want)


@pytest.mark.parametrize("variable, flag", [("PYWD_NO_AVX512_BF16", "_avx512bf16"),
                                            ("PYWD_NO_AVX512_VBMI", "_avx512vbmi")])
def test_avx512_extensions_can_be_turned_off(variable, flag):
    """PYWD_NO_AVX512_BF16=1 keeps the AVX-512 unit's integer rounding to bfloat16,
    PYWD_NO_AVX512_VBMI=1 its float permutes to decode 8-bit state (and show_config stops
    naming the instruction); elsewhere the flags are off whatever is set."""
    script = f"import pywd; print(pywd._kernels.{flag}(), pywd._kernels._isa())"
    for value, may in (("1", False), ("0", True), ("", True)):
        out = subprocess.run([sys.executable, "-c", script], env={**os.environ, variable: value},
                             capture_output=True, text=True, check=True).stdout.split()
        assert out[0] == str(may and getattr(pywd._kernels, flag)())
        assert out[0] == "False" or out[1] == "avx512"


def test_python_m_pywd_works_from_the_source_checkout():
    # README's `pip install . && python -m pywd bench` is typed in the repository root, where
    # Python imports the source tree first: it must borrow the installed extension.
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pywd", "config"], cwd=root,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "extension" in out.stdout and "openmp" in out.stdout


def test_python_m_pywd_without_a_command_prints_usage():
    out = subprocess.run([sys.executable, "-m", "pywd"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage: python -m pywd" in out.stderr
    out = subprocess.run([sys.executable, "-m", "pywd", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0
    for command in ("bench ", "config ", "python -m pywd.demo"):
        assert command in out.stdout


def test_the_huge_page_probe_reports_at_most_its_own_size():
    from pywd import memory
    text = memory.describe()
    if "probe on huge pages" in text and "unknown" not in text:
        got = int(text.rsplit(": ", 1)[1].split()[0])
        assert 0 <= got <= 4 and text.endswith(f"{got} MB of 4 MB")


def workload(seed):
    """A training-like sequence on arrays of its own, big enough that every call releases the
    GIL and starts a thread team: a fill, then AdamW steps with clipping and SGD steps."""
    rng = np.random.default_rng(seed)
    n = 150_001
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(4)]
    w, m, v, b = (np.zeros(n, np.float32) for _ in range(4))
    pywd.init.normal_(w, std=0.1, rng=seed)
    for step, g in enumerate(grads, start=1):
        pywd.adamw(w, g, m, v, step=step, lr=1e-3, max_grad_norm=50.0, nonfinite="skip")
        pywd.sgd(w, g, b, lr=0.01, momentum=0.9, first_step=step == 1)
    return hashlib.sha256(b"".join(a.tobytes() for a in (w, m, v, b))).hexdigest()


def test_calls_from_several_python_threads_give_the_serial_bytes():
    serial = [workload(seed) for seed in range(4)]
    start = threading.Barrier(4)

    def run(seed):
        start.wait()
        return workload(seed)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(run, range(4))) == serial


def test_the_gil_is_released_during_a_big_call():
    """Another Python thread runs in the middle of a long kernel call. If the call held the
    GIL it could only run before the call starts (with a 0.1 ms switch interval); a C call
    that holds the GIL, sum(range(n)), fails this test."""
    w, g = np.ones(1 << 25, np.float32), np.ones(1 << 25, np.float32)
    window, stop, ticks = [], threading.Event(), []

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    def big_calls():
        pywd.set_num_threads(1)          # this thread only, so the ticker has a core
        for _ in range(3):
            t0 = time.perf_counter()
            pywd.sgd(w, g, lr=1e-6)
            window.append((t0, time.perf_counter()))

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        worker = threading.Thread(target=big_calls)
        worker.start()
        worker.join()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    middle = [t for t in ticks for t0, t1 in window if t0 + (t1 - t0) / 4 < t < t1 - (t1 - t0) / 4]
    assert middle, f"no Python progress inside calls of {[t1 - t0 for t0, t1 in window]} s"


FORK_SCRIPT = r"""
import os, numpy as np, pywd
w, g = np.ones(1 << 20, np.float32), np.ones(1 << 20, np.float32)
pywd.sgd(w, g, lr=0.25)                       # a threaded call in the parent
pid = os.fork()
if pid == 0:                                  # GNU OpenMP hangs here unless pywd runs serially
    pywd.sgd(w, g, lr=0.25)
    os._exit(0 if (w == 0.5).all() and pywd.get_num_threads() == 1 else 3)
_, status = os.waitpid(pid, 0)
pywd.sgd(w, g, lr=0.25)                       # the parent keeps its threads
print(os.waitstatus_to_exitcode(status), (w == 0.5).all())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_can_call_pywd_after_threaded_calls():
    out = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"]
