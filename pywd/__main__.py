"""python -m pywd <command>: `bench` (speed against the reference and memory bandwidth) or
`config` (what this build is)."""
import sys

USAGE = """usage: python -m pywd {bench,config} [options]

commands:
  bench    how fast pywd's kernels run here: against a NumPy loop, against torch where it
           is installed, and against the memory's own limit (python -m pywd bench --help)
  config   what this build is: version, OpenMP threads, instruction set, compile flags,
           the allocator (the same as pywd.show_config())

Also: python -m pywd.demo (nine experiments on why weight decay and initialisation
matter; python -m pywd.demo --help lists them)."""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from .bench import main as bench
        return bench(argv[1:])
    if argv[:1] == ["config"]:
        from ._config import show_config
        show_config()
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
