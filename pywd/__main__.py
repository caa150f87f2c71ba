"""python -m pywd <command>: `bench` (speed against the reference and memory bandwidth) or
`config` (what this build is)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from .bench import main as bench
        return bench(argv[1:])
    if argv[:1] == ["config"]:
        from ._config import show_config
        show_config()
        return 0
    print("usage: python -m pywd {bench [--quick] [--json] | config}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
