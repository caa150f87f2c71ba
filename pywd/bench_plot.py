"""`python -m pywd bench --plot FILE.png`: a run's result as a picture (matplotlib, the
`demo` extra). Left, roofline-style: the GB/s each streaming row moves, against the memory
probes' lines (copy and read-modify-write, their best); rows whose arrays fit in the cache are
drawn paler, as memory does not bound them. Right: the fills, in elements per second, pywd
beside NumPy's Generator."""
import importlib


def pyplot():
    """matplotlib's pyplot (headless), or an ImportError that says how to install it."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'pywd[demo]'") from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def plot(result, path):
    """Draws `result` (bench.run's) to `path`."""
    plt = pyplot()
    rated = [r for r in result["rows"] if "gb_per_s" in r]
    fills = [r for r in result["rows"] if "elements_per_s" in r]
    height = max(4.0, 0.22 * len(rated) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, height),
                                      gridspec_kw=dict(width_ratios=(3, 2)))
    labels = [f"{r['kernel']} {r['size']} {r['dtype']}" for r in rated]
    colours = ["#9ecae1" if r.get("in_cache") else "#08519c" for r in rated]
    left.barh(range(len(rated)), [r["gb_per_s"] for r in rated], color=colours)
    left.set_yticks(range(len(rated)), labels, fontsize=7)
    left.invert_yaxis()
    for value, style, name in ((result["copy_gb_per_s"], "--", "copy probe"),
                               (result["rmw_gb_per_s"], "-", "read-modify-write probe")):
        left.axvline(value, color="#cb181d", linestyle=style, label=f"{name} {value:.0f} GB/s")
    left.set_xlabel("GB/s pywd reads and writes (pale: the arrays fit in the cache)")
    left.legend(loc="lower right", fontsize=8)
    left.set_title(f"pywd bench on {result['machine']}", fontsize=10)
    names = [f"{r['kernel']} {r['size']} {r['dtype']}" for r in fills]
    ours = [r["elements_per_s"] / 1e9 for r in fills]
    theirs = [r["elements"] / r["reference_s"] / 1e9 for r in fills]
    positions = range(len(fills))
    right.barh([p - 0.2 for p in positions], ours, height=0.4, color="#08519c", label="pywd")
    right.barh([p + 0.2 for p in positions], theirs, height=0.4, color="#bdbdbd",
               label="NumPy")
    right.set_yticks(positions, names, fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("10^9 elements per second")
    right.legend(loc="lower right", fontsize=8)
    right.set_title("fills (and Muon, orthogonal_: parameters per second)", fontsize=10)
    for axes, rows, what in ((left, rated, "streaming"), (right, fills, "fill")):
        if not rows:                       # a subset (--only, --sizes) without such rows
            axes.set_xticks([])
            axes.text(0.5, 0.5, f"no {what} rows in this run", ha="center",
                      transform=axes.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
