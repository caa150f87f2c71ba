"""The kernels give the bytes recorded in tests/data/kernel_hashes.json (kernel_corpus.py):
every update x decay mode x storage x loop-choosing option, on every ISA unit this CPU runs
and at 1 and 2 threads. A failure names the cases whose bytes (or refusal) changed."""
import json
import os
import subprocess
import sys

import pytest

import kernel_corpus
import pywd
from helpers import isa_units

pytest.importorskip("ml_dtypes")
# the rebuilds' passes (serial, sanitizer: .ci/run) run one pass, this unit at 2 threads
REBUILD = os.environ.get("PYWD_HYPOTHESIS_PROFILE") == "rebuild"


def recorded():
    with open(kernel_corpus.CORPUS) as f:
        return json.load(f)


def assert_same(got, what):
    want = recorded()
    assert got.keys() == want.keys(), what
    changed = sorted(k for k in want if got[k] != want[k])
    assert not changed, f"{what}: {len(changed)} of {len(want)} cases changed: {changed[:20]}"


@pytest.mark.parametrize("threads", [1, 2])
def test_this_unit_gives_the_recorded_bytes(threads):
    if REBUILD and threads == 1:
        pytest.skip("a rebuild's pass runs 2 threads only")
    assert_same(kernel_corpus.corpus(threads), f"isa {pywd._kernels._isa()}, {threads} threads")


@pytest.mark.skipif(REBUILD, reason="a rebuild's pass runs its own unit only")
@pytest.mark.parametrize("unit", [u for u in isa_units() if u != pywd._kernels._isa()])
@pytest.mark.parametrize("threads", [1, 2])
def test_every_other_unit_gives_the_recorded_bytes(unit, threads):
    """Each narrower unit the CPU runs (PYWD_ISA=baseline, avx2) gives the same bytes."""
    env = dict(os.environ, PYWD_ISA=unit)
    out = subprocess.run([sys.executable, kernel_corpus.__file__, str(threads)], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert_same(json.loads(out), f"isa {unit}, {threads} threads")


def test_every_element_wise_kernel_has_recorded_cases():
    """A kernel added to the table gets cases here (a row of kernel_corpus.UPDATES, then
    `python tests/kernel_corpus.py --record`, which leaves the recorded ones as they are)."""
    from pywd._optimisers import KERNELS, UPDATES
    covered = {UPDATES[fn].kernel for fn, _, _ in kernel_corpus.UPDATES.values()
               if fn in UPDATES}
    assert {name for name, k in KERNELS.items() if k.finite is not None} <= covered
