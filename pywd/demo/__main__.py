"""python -m pywd.demo [--out DIR] [--quick] [--only N]"""
import argparse
import os
import sys

from .experiments import EXPERIMENTS, run


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pywd.demo",
        description="Why weight decay is not L2, why initialisation matters, what "
                    "16-bit weights need and what schedule-free training gives, and an MLP on "
                    "real digits: nine small experiments on pywd's kernels and NumPy.")
    parser.add_argument("--out", default="pywd-demo", help="folder for the PNGs (default: "
                        "pywd-demo)")
    parser.add_argument("--quick", action="store_true", help="smaller and shorter runs")
    parser.add_argument("--only", type=int, choices=sorted(EXPERIMENTS),
                        help="run one experiment")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    run(quick=args.quick, only=args.only, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
