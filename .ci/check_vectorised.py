"""Fails when a per-element loop of an optimiser stays scalar.

Compiles each ISA unit (csrc/unit_*.c) with the flags the installed pywd was built with and
gcc's vectoriser report (-fopt-info-vec-optimized), then counts the loops it vectorised at
full width where each optimiser's loops are generated:
- an element-wise optimiser's loops come from its PYWD_OPTIMISER(name, variants) line
  (csrc/optim/driver.h; or PYWD_CAUTIOUS_OPTIMISER, whose cautious update's loops come on
  top): one per decay mode (PYWD_DECAY_MODES) x variant x dtype. The
  AVX-512 unit (64 bytes) and the AVX2 unit (32) must vectorise every one of them; the
  baseline (SSE2) unit every one but the float64 loops of the two cautious modes (SSE2 has
  no conversion of a 64-bit compare mask to double: gcc leaves those two scalar, as it
  always has).
  The bare decay step has no loop for no decay (its body leaves w as it is: gcc removes it).
- LAMB, LARS and Adafactor write their own loops: at least as many as when this check was
  written (FLOORS).
Usage: python .ci/check_vectorised.py   (gcc on PATH; run from the repository)
"""
import os
import re
import subprocess
import sys
import tempfile
from glob import glob

# unit: full vector width in bytes
UNITS = {"unit_avx512.c": 64, "unit_avx2.c": 32, "unit_baseline.c": 16}
CAUTIOUS_MODES = 2                                      # of PYWD_DECAY_MODES, per dtype
EMPTY_LOOPS = {"decay": 1}                              # per dtype: loops that do nothing
FLOORS = {"unit_avx512.c": {"optim/lamb.h": 56, "optim/lars.h": 110, "optim/adafactor.h": 54},
          "unit_avx2.c": {"optim/lamb.h": 52, "optim/lars.h": 110, "optim/adafactor.h": 54},
          "unit_baseline.c": {"optim/lamb.h": 46, "optim/lars.h": 98, "optim/adafactor.h": 52}}


def compile_flags():
    out = subprocess.run([sys.executable, "-c", "from pywd._config import config; "
                          "print(config()['compile_flags'])"], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    return out.stdout.split()


def decay_modes():
    text = open("csrc/weight_decay.h").read()
    body = re.search(r"#define PYWD_DECAY_MODES\(CASE\)(.*?)\n\n", text, re.S).group(1)
    return body.count("CASE(")


def optimisers():
    """(file, line, name, variants) of every PYWD_OPTIMISER and PYWD_CAUTIOUS_OPTIMISER
    line."""
    found = []
    for path in sorted(glob("csrc/optim/*.h")):
        for number, line in enumerate(open(path), 1):
            m = re.match(r"PYWD_(?:CAUTIOUS_)?OPTIMISER\((\w+), (\d+)\)", line)
            if m:
                found.append((path[len("csrc/"):], number, m.group(1), int(m.group(2))))
    return found


def vectorised(unit, width, flags):
    """{(file, line): number of loops vectorised at `width` bytes} for one unit."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.txt")
        subprocess.run(["gcc"] + flags + ["-Icsrc", "-c", os.path.join("csrc", unit), "-o",
                                          os.path.join(tmp, "unit.o"),
                                          f"-fopt-info-vec-optimized={report}"], check=True)
        counts = {}
        pattern = re.compile(rf"^(\S+?):(\d+):\d+: optimized: loop vectorized using {width} "
                             r"byte vectors")
        for line in open(report):
            m = pattern.match(line)
            if m:
                key = (m.group(1).removeprefix("csrc/"), int(m.group(2)))
                counts[key] = counts.get(key, 0) + 1
        return counts


def main():
    flags = [f for f in compile_flags() if not f.startswith("-fsanitize")]
    modes, failures = decay_modes(), []
    for unit, width in UNITS.items():
        counts = vectorised(unit, width, flags)
        for path, line, name, variants in optimisers():
            got = counts.get((path, line), 0)
            want = 2 * (modes - EMPTY_LOOPS.get(name, 0)) * variants
            if width == 16:
                want -= CAUTIOUS_MODES * variants
            status = "ok" if got >= want else "SCALAR LOOPS"
            print(f"{unit:16} {name:14} {got:4} of {want:4} loops vectorised  {status}")
            if got < want:
                failures.append(f"{unit}: {name} ({path}:{line}) vectorised {got} of {want}")
        for path, floor in FLOORS[unit].items():
            got = sum(n for (p, _), n in counts.items() if p == path)
            print(f"{unit:16} {path:14} {got:4} (at least {floor})")
            if got < floor:
                failures.append(f"{unit}: {path} vectorised {got} loops, fewer than {floor}")
    if failures:
        sys.exit("loops that stay scalar:\n  " + "\n  ".join(failures))
    print("every optimiser loop vectorises")


if __name__ == "__main__":
    main()
