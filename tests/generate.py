"""The parts of pywd's sources that follow from the table of optimisers
(pywd/_optimisers.py), generated, between marker comments:

- pywd/_kernels.pyi: the functional updates' stubs, from the built functions' signatures
  (names, order, kinds and defaults: inspect.signature of the compiled module); a
  parameter's type follows from its name or default, a tuple's from its class's annotation;
- pywd/__init__.py: the updates' import and export list;
- pywd/optim/__init__.py: the classes' imports (each from the module that defines it) and
  export list;
- pywd/torch.py: the classes over torch tensors, one per pywd.optim class, and their export
  list (its docstring says whose constructor it follows: the row's torch twin or origin);
- docs/api.md: the reference entries of the updates and classes.

So a new optimiser (its row in the table, its function, its class) or a new option gets
all of these without anyone writing them.

    python tests/generate.py            # exit status 1 and a diff if a block is stale
    python tests/generate.py --write    # rewrite the blocks

tests/test_typing.py and tests/test_table.py check the installed files against this (CI).
"""
import difflib
import functools
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pywd._kernels as kernels
from pywd._optimisers import KERNELS, UPDATES

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "pywd" / "_kernels.pyi"

# the functional updates: the table's rows, Adafactor (not a row: its state is not shaped
# like the params), and the bare decay step last
FUNCTIONS = (*[name for name in UPDATES if name != "decay"], "adafactor", "decay")
# Adafactor's factored state: per param, arrays of its own shapes or None
FACTORS = "Arrays | Sequence[Any] | None"
ARRAYS = ({a.name for k in KERNELS.values() for a in k.arrays}
          | {s.name for u in UPDATES.values() for s in u.state} | {"decay_to", "compensation"})
BY_NAME = {
    "decay": "Decay", "nonfinite": "Nonfinite", "rounding": "Rounding", "rng": "Rng",
    "adjust_lr_fn": "str | None", "ns_steps": "int",
    "row_vars": FACTORS, "col_vars": FACTORS, "variances": FACTORS,
}
# the classes of the functional updates (the same options, tuples typed in their signatures)
CLASSES = {**{name: u.cls for name, u in UPDATES.items() if u.cls}, "adafactor": "Adafactor"}
ELIDED = {"ns_coefficients"}     # a long tuple, named in the stub as MUON_COEFFICIENTS


def annotation(function, p):
    """The stub's type of parameter `p` of `function`."""
    default = p.default
    if p.name in BY_NAME:
        return BY_NAME[p.name]
    if p.name in ARRAYS:
        return "Arrays | None" if default is None else "Arrays"
    typed = class_parameters(function).get(p.name)
    if typed is not None and str(typed.annotation).startswith("tuple["):
        return typed.annotation + (" | None" if default is None else "")
    if p.name == "step":
        return "int | None" if default is None else "int"
    if isinstance(default, bool):
        return "bool"
    if default is p.empty or default is None or isinstance(default, float):
        return "float | None" if default is None else "float"
    raise TypeError(f"{function}({p.name}={default!r}): no stub type for it; name it in "
                    f"tests/generate.py's BY_NAME")


def default_text(name, default):
    if name in ELIDED:
        return "..."
    if isinstance(default, str):
        return f'"{default}"'
    text = repr(default)
    if isinstance(default, float) and "e" in text:          # 1e-08 -> 1e-8
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def stub(function):
    signature = inspect.signature(getattr(kernels, function))
    parts, starred = [], False
    for p in signature.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        text = f"{p.name}: {annotation(function, p)}"
        if p.default is not p.empty:
            text += f" = {default_text(p.name, p.default)}"
        parts.append(text)
    returns = "None" if function == "decay" else "StepResult"
    lines = ["   "]
    for part in parts:                    # as many parameters a line as fit in 99 columns
        if len(lines[-1]) + len(part) + 2 > 99:
            lines.append("   ")
        lines[-1] += f" {part},"
    body = "\n".join(lines)
    return f"def {function}(\n{body}\n) -> {returns}: ...\n"


def stubs():
    return "".join(stub(f) for f in FUNCTIONS)


def listed(head, names, tail, quote=True):
    """`head` + the names, comma-separated, wrapped at 99 columns under the first."""
    items = [f'"{n}"' if quote else n for n in names]
    return textwrap.fill(", ".join(items), 99, initial_indent=head,
                         subsequent_indent=" " * len(head)) + tail + "\n"


def torch_classes():
    """(name, the torch class's docstring) of every pywd.optim class, in the table's order."""
    rows = [(u.cls, u.origin or f"torch.optim.{u.torch}'s arguments")
            for u in UPDATES.values() if u.cls]
    return rows + [("Adafactor", "torch.optim.Adafactor's arguments")]


def exports():
    return listed("from ._kernels import (", FUNCTIONS, ")", quote=False) + \
        listed("__all__ += [", FUNCTIONS, "]")


@functools.cache
def class_parameters(function):
    """The constructor's parameters of the class of `function` (none for the bare decay)."""
    return inspect.signature(optim_class(CLASSES[function])).parameters \
        if function in CLASSES else {}


@functools.cache
def module_of(name):
    """The module of pywd/optim that defines the class `name` (read from the sources: the
    export lists may not name it yet)."""
    return next(p.stem for p in sorted((ROOT / "pywd" / "optim").glob("*.py"))
                if re.search(rf"^class {name}\(", p.read_text(), re.M))


def optim_class(name):
    return getattr(importlib.import_module(f"pywd.optim.{module_of(name)}"), name)


def optim_imports():
    modules = {}
    for name, _ in torch_classes():
        modules.setdefault(module_of(name), []).append(name)
    return "".join(listed(f"from .{m} import ", names, "", quote=False)
                   for m, names in sorted(modules.items())) + \
        listed("__all__ += [", [n for n, _ in torch_classes()], "]")


def torch_module():
    out = listed("__all__ += [", [n for n, _ in torch_classes()], "]")
    for name, origin in torch_classes():
        base = "_ScheduleFree" if hasattr(optim_class(name), "train") else "Optimizer"
        doc = textwrap.fill(f":class:`pywd.optim.{name}` as a torch optimiser ({origin}).",
                            92, initial_indent='    """', subsequent_indent="    ")
        out += f'\n\nclass {name}({base}):\n{doc}"""\n    pywd_class = _optim.{name}\n'
    return out


def api_functions():
    return "".join(f".. autofunction:: pywd.{f}\n" for f in FUNCTIONS)


def api_classes():
    out = ""
    for name, _ in torch_classes():
        out += f".. autoclass:: pywd.optim.{name}\n"
        if hasattr(optim_class(name), "train"):
            out += "   :members: train, eval\n"
    return out


# (file, the block's text, how a comment starts there); a file's blocks are told apart by
# their function's name in the markers
BLOCKS = [
    (STUB, stubs, "#"),
    (ROOT / "pywd" / "__init__.py", exports, "#"),
    (ROOT / "pywd" / "optim" / "__init__.py", optim_imports, "#"),
    (ROOT / "pywd" / "torch.py", torch_module, "#"),
    (ROOT / "docs" / "api.md", api_functions, ".."),
    (ROOT / "docs" / "api.md", api_classes, ".."),
]


def markers(make, comment):
    return (f"{comment} --- generated by tests/generate.py ({make.__name__}) from the table "
            f"of optimisers: do not edit ---\n", f"{comment} --- end of the generated block ---\n")


def with_blocks(text, path=STUB):
    """`text` (the file at `path`, or an installed copy of it) with its generated blocks
    replaced by fresh ones."""
    for where, make, comment in BLOCKS:
        if where == path:
            begin, end = markers(make, comment)
            head, rest = text.split(begin)
            text = head + begin + make() + end + rest.split(end, 1)[1]
    return text


def main(argv):
    stale = 0
    for path in dict.fromkeys(where for where, _, _ in BLOCKS):
        text = path.read_text()
        fresh = with_blocks(text, path)
        if "--write" in argv:
            path.write_text(fresh)
            continue
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True),
                                                   fresh.splitlines(True), str(path),
                                                   "generated"))
        stale |= fresh != text
    return int(stale)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
