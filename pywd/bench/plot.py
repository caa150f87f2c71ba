"""`python -m pywd bench --plot FILE.png`: a run's result as a picture (matplotlib, the
`demo` extra), a panel for each kind of row that ran. Streaming rows, roofline-style: the
GB/s each moves, against the memory probes' lines (copy and read-modify-write, their best);
rows whose arrays fit in the cache are drawn paler, as memory does not bound them. Fills
(and orthogonal_, Muon): elements per second, pywd beside NumPy's."""
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
    """Draws `result` (bench.run's) to `path`: one panel per kind of row it has."""
    plt = pyplot()
    rated = [r for r in result["rows"] if "gb_per_s" in r]
    fills = [r for r in result["rows"] if "elements_per_s" in r]
    panels = [(draw, rows) for draw, rows in ((_streaming, rated), (_fills, fills)) if rows]
    if not panels:
        panels = [(_empty, [])]
    height = max(4.0, 0.22 * max(len(rows) for _, rows in panels) + 1.5)
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), height), squeeze=False)
    for ax, (draw, rows) in zip(axes[0], panels):
        draw(ax, rows, result)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _label(row):
    return f"{row['kernel']} {row['size']} {row['dtype']}"


def _streaming(ax, rows, result):
    colours = ["#9ecae1" if r.get("in_cache") else "#08519c" for r in rows]
    ax.barh(range(len(rows)), [r["gb_per_s"] for r in rows], color=colours)
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    for value, style, name in ((result["copy_gb_per_s"], "--", "copy probe"),
                               (result["rmw_gb_per_s"], "-", "read-modify-write probe")):
        ax.axvline(value, color="#cb181d", linestyle=style, label=f"{name} {value:.0f} GB/s")
    ax.set_xlabel("GB/s pywd reads and writes (pale: the arrays fit in the cache)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"pywd bench on {result['machine']}", fontsize=10)


def _fills(ax, rows, result):
    positions = range(len(rows))
    ours = [r["elements_per_s"] / 1e9 for r in rows]
    theirs = [r["elements"] / r["numpy_s"] / 1e9 for r in rows]
    ax.barh([p - 0.2 for p in positions], ours, height=0.4, color="#08519c", label="pywd")
    ax.barh([p + 0.2 for p in positions], theirs, height=0.4, color="#bdbdbd",
            label="NumPy")
    ax.set_yticks(positions, [_label(r) for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("10^9 elements per second")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("fills (orthogonal_, Muon: parameters per second)", fontsize=10)


def _empty(ax, rows, result):
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "no rows in this run", ha="center", transform=ax.transAxes)
