"""python -m pywd.demo [--out DIR] [--quick] [--only N|NAME]"""
import argparse
import os
import sys

from .experiments import EXPERIMENTS, run, title


def experiment_number(text):
    """--only's value: an experiment's number, or its name (digits, decay_vs_l2, ...)."""
    key = text.strip().lower().replace("-", "_")
    for number, experiment in EXPERIMENTS.items():
        if key in (str(number), experiment.__name__):
            return number
    raise argparse.ArgumentTypeError(
        f"no experiment {text!r}: give a number from 1 to {len(EXPERIMENTS)} or a name, "
        f"one of {', '.join(e.__name__ for e in EXPERIMENTS.values())}")


def main(argv=None):
    listing = "\n".join(f"  {number}  {experiment.__name__:<19} {title(number)}"
                         for number, experiment in EXPERIMENTS.items())
    parser = argparse.ArgumentParser(
        prog="python -m pywd.demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Why weight decay is not L2, why initialisation matters, what "
                    "16-bit weights need and what schedule-free training gives, an MLP on "
                    "real digits, optimiser state in 8 bits, and what decay does to weights "
                    "followed by a normalisation and across dataset sizes: twelve small "
                    "experiments on pywd's kernels and NumPy.",
        epilog="experiments (--only takes the number or the name):\n" + listing)
    parser.add_argument("--out", default="pywd-demo", help="folder for the PNGs (default: "
                        "pywd-demo)")
    parser.add_argument("--quick", action="store_true", help="smaller and shorter runs")
    parser.add_argument("--only", type=experiment_number, metavar="N|NAME",
                        help="run one experiment, by its number or name (listed below)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    run(quick=args.quick, only=args.only, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
