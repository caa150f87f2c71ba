"""The bench command's pieces (its timings are read by people, never asserted here), and
the project's targets in bench/targets.py (judged on made-up rows)."""
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import pywd
from pywd import bench
from pywd.bench import timing as bench_timing
from pywd._models import resnet50_shapes


def test_resnet50_has_torchvisions_161_parameters():
    shapes = resnet50_shapes()
    assert len(shapes) == 161
    assert sum(int(np.prod(s)) for s in shapes) == 25_557_032
    assert shapes[0] == (64, 3, 7, 7) and shapes[-2:] == [(1000, 2048), (1000,)]


def test_every_kernel_case_runs_the_same_step_on_both_sides():
    for name, kernel in bench.KERNELS.items():
        ours, theirs = bench.kernel_case(name, [(33,), (4, 5)], np.float64)
        for _ in range(2):
            ours(), theirs()
        for a, b in zip(ours.args[0], theirs.args[0]):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        arrays = 2 + kernel.states + len(kernel.keyword_states)
        norm_pass = 4 if "max_grad_norm" in kernel.hyper else 0   # grads read once more
        # the trust ratio's norm pass: LAMB reads w, g, m, v; LARS w, g; caution's count
        # pass reads what the update does; weight-norm control's reads w
        norm_pass += 4 * {"lamb": 4, "lars": 2}.get(kernel.fn, 0)
        if kernel.hyper.get("caution"):
            norm_pass += 4 * arrays
        if kernel.hyper.get("norm_target") is not None:
            norm_pass += 4
        read_only = 1 + ("decay_to" in kernel.keyword_states)     # grads, anchors
        assert kernel.bytes_per_element == 4 * (2 * arrays - read_only) + norm_pass


def test_muon_cases_take_the_same_step_on_every_side():
    ours, theirs, torch_step = bench.muon_case([(12, 5), (6, 6)])
    ours()
    theirs()
    for a, b in zip(ours.args[0], theirs.args[0]):
        np.testing.assert_array_equal(a, b)
    assert set(bench.MUON_CASES) == {"gpt2x2", "4096^2"}
    assert sum(np.prod(s) for s in bench.MUON_CASES["gpt2x2"]) == 14_155_776


def test_adafactor_cases_take_the_same_step_on_every_side():
    shapes = [(12, 5), (2, 3, 4), (7,)]
    ours, theirs, torch_step = bench.adafactor_case(shapes)
    ours()
    theirs()
    for a, b in zip(ours.args[0], theirs.args[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(b).max())
    assert bench.adafactor_bytes(shapes) == 24 * (60 + 24) + 32 * 7
    assert set(bench.ADAFACTOR_CASES) == {"4096^2", "gpt2x2", "resnet50"}


def test_bytes_per_element_follow_the_speed_model():
    # docs/design.md: SGD with decay 12, with momentum 20, Adam/AdamW 28 (float32)
    assert bench.KERNELS["sgd+decay"].bytes_per_element == 12
    assert bench.KERNELS["momentum"].bytes_per_element == 20
    assert bench.KERNELS["adamw"].bytes_per_element == 28
    assert bench.KERNELS["amsgrad"].bytes_per_element == 36    # max_exp_avg_sqs read + written
    assert bench.KERNELS["adamw+anchor"].bytes_per_element == 32        # the anchor: read
    assert bench.KERNELS["momentum+anchor"].bytes_per_element == 24
    assert bench.KERNELS["lamb"].bytes_per_element == 28 + 16     # the norm pass reads 4
    assert bench.KERNELS["lars"].bytes_per_element == 20 + 8      # ... and 2
    assert bench.KERNELS["adamw-sf"].bytes_per_element == 28      # y, z, v; g read
    assert bench.KERNELS["sgd-sf"].bytes_per_element == 20        # y, z; g read


def test_interleaved_rounds_time_every_side_in_turn_and_summary_pairs_them():
    calls = []
    sides = {"pywd": lambda: calls.append("p"), "numpy": lambda: calls.append("n"),
             "torch": None}
    samples = bench_timing.interleaved(sides, budget=0.0, rounds=4)
    assert set(samples) == {"pywd", "numpy"} and all(len(v) == 4 for v in samples.values())
    # warm-up and sizing (two calls each), then the rounds, the order reversed every other
    assert calls == ["p", "p", "n", "n", "p", "n", "n", "p", "p", "n", "n", "p"]
    row = bench_timing.summary({"pywd": [1.0, 2.0, 1.0], "numpy": [10.0, 30.0, 12.0],
                                "torch": [1.5, 2.0, 1.4]})
    assert row["pywd_s"] == 1.0 and row["numpy_s"] == 10.0 and row["torch_s"] == 1.4
    assert row["vs_numpy"] == 12.0 and row["vs_numpy_range"] == [10.0, 15.0]
    assert row["vs_torch"] == 1.4 and row["noisy"]          # 10 to 15: more than 25% apart
    assert not bench_timing.summary({"pywd": [1.0, 1.1], "numpy": [10.0, 10.5]})["noisy"]
    # five rounds: the highest and lowest ratios are left out of the test (one busy round)
    five = {"pywd": [1.0] * 5, "numpy": [10.0, 10.5, 11.0, 30.0, 2.0]}
    assert not bench_timing.summary(five)["noisy"]
    assert bench_timing.summary(dict(five, numpy=[10.0, 14.0, 11.0, 30.0, 2.0]))["noisy"]


def made_up_result(rows, **extra):
    return dict(machine="test CPU", config=dict(pywd="0", threads=2, openmp=True, isa="avx2"),
                copy_gb_per_s=30.0, rmw_gb_per_s=45.0, cache_bytes=32 << 20, rows=rows,
                **extra)


def kernel_row(name="sgd+decay", size="16M", pywd_s=0.004, numpy_s=0.05, torch_s=None,
               noisy=False, **extra):
    row = dict(kind="kernel", kernel=name, size=size, dtype="float32", arrays=1,
               elements=1 << 24, pywd_s=pywd_s, numpy_s=numpy_s, vs_numpy=numpy_s / pywd_s,
               noisy=noisy, gb_per_s=50.0, footprint=3 << 26,
               **{"in_cache": False, "bandwidth_share": 0.9, **extra})
    if torch_s:
        row.update(torch_s=torch_s, vs_torch=torch_s / pywd_s)
    return row


def test_the_report_says_what_each_column_compares_and_notes_only_what_ran():
    rows = [kernel_row(torch_s=0.005),
            kernel_row(size="4K", pywd_s=2e-6, numpy_s=7e-6, noisy=True, in_cache=True,
                       bandwidth_share=None),
            dict(kind="fill", kernel="normal", size="16M", dtype="float32", arrays=1,
                 elements=1 << 24, pywd_s=0.01, numpy_s=0.08, vs_numpy=8.0, noisy=False,
                 elements_per_s=1.6e9)]
    out = io.StringIO()
    bench.report(made_up_result(rows), out)
    text = out.getvalue()
    header = text.splitlines()[2]
    for column in ("pywd", "NumPy loop", "vs NumPy loop", "torch", "vs torch", "of RMW"):
        assert column in header
    lines = {(line.split()[0], line.split()[1]): line for line in text.splitlines()
             if line.startswith(("sgd+decay ", "normal "))}
    assert lines[("sgd+decay", "16M")].split()[3:] == [
        "4.00", "ms", "50.00", "ms", "12.5x", "5.00", "ms", "1.25x", "50.0", "GB/s", "90%"]
    assert lines[("sgd+decay", "4K")].endswith("in cache  ~")     # its rounds disagreed
    assert lines[("normal", "16M")].split()[-3:] == ["1.60", "Gel/s", "-"]
    prose = " ".join(text.split())
    assert "how many times as fast pywd is" in prose and "~: the rounds' ratios" in prose
    assert "kernel rows:" in prose and "fills:" in prose and "32 MB cache" in prose
    for other in ("muon:", "adafactor:", "torch.AdamW:", "adamw SR/RN", "vs saved"):
        assert other not in prose                             # no notes for rows not run
    assert "target" not in prose                              # the team's, not the user's
    out = io.StringIO()             # another allocator's memory: no share of pywd's probe
    bench.report(made_up_result([kernel_row(memory="torch", bandwidth_share=None)]), out)
    assert out.getvalue().splitlines()[4].endswith("50.0 GB/s  (torch)")
    out = io.StringIO()                                       # without torch: no torch columns
    bench.report(made_up_result([kernel_row()]), out)
    assert "vs torch" not in out.getvalue()


def test_rows_that_fit_in_cache_are_not_judged_against_the_bandwidth_probe():
    cache = bench.cache_bytes()
    assert 1 << 20 <= cache <= 1 << 34                          # 1 MB .. 16 GB: a real cache
    assert bench.footprint("adamw", 1 << 20, np.float32) == 16 << 20   # 4 arrays of 4 MB


def test_the_command_says_how_long_it_takes_before_it_starts(monkeypatch, capsys):
    def stop(**kwargs):                   # the run itself is the bench's business, not a test's
        raise SystemExit(0)
    monkeypatch.setattr(bench, "run", stop)
    with pytest.raises(SystemExit):
        bench.main([])
    assert "takes about a minute on a 2-core machine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--full"])
    assert "takes about 10 minutes" in capsys.readouterr().err


def test_rows_time_every_side_the_same_way_and_torch_where_it_has_the_step():
    row = bench.kernel_row("adamw", "1000", np.float32, [(1000,)], budget=0.001)
    assert len(row["pywd_rounds_s"]) == len(row["numpy_rounds_s"]) == bench_timing.ROUNDS
    assert row["pywd_s"] == min(row["pywd_rounds_s"]) and row["vs_numpy"] > 0
    assert ("torch_s" in row) == (bench._torch() is not None)
    assert "torch_s" not in bench.kernel_row("lion", "1000", np.float32, [(1000,)], 0.001)
    usual = bench.optimizer_row("AdamW.step", "5000", [(5000,)], 0.001, memory="numpy")
    assert usual["kernel"] == "AdamW.step usual" and usual["elements"] == 5000
    assert (usual["memory"], row["memory"]) == ("numpy", "pywd")     # whose allocator
    params, grads, state = bench.make_arrays([(3 << 20,)], np.float32, 3, memory="numpy")
    assert params.base is None                   # NumPy's own (pywd's are views of a block)
    placed = bench.make_arrays([(3 << 20,)], np.float32, 3)
    assert all(a.ctypes.data % 64 == 0 for a in placed)
    copies, rmws = bench.probe_bandwidth(4096, budget=0.001, placements=2)
    assert len(copies) == len(rmws) == 2 and min(copies + rmws) > 0


def test_16_bit_rows_count_their_storage_bytes():
    """All-bf16 AdamW moves 14 bytes per element, float32 params with bf16 state 20, bf16
    params with float32 state 24; all-bf16 SGD with momentum 10. Each row has pywd's
    float32 step beside it and its cost per element and core."""
    from pywd.bench import lowp as bench_lowp
    pytest.importorskip("ml_dtypes")
    assert {k: bench_lowp.bytes_per_element(c.dtypes) for k, c in bench_lowp.CASES.items()} == {
        ("adamw SR", "bf16"): 14, ("adamw RN", "bf16"): 14, ("adamw SR", "f32/b16"): 20,
        ("adamw SR", "b16/f32"): 24, ("momentum SR", "bf16"): 10, ("momentum RN", "bf16"): 10}
    assert bench_lowp.bytes_per_element(("float32",) * 4) == 28
    for case in (("adamw SR", "bf16"), ("momentum RN", "bf16")):
        row = bench.lowp_row(case, "1000", [(1000,)], 0.001)
        assert (row["kernel"], row["dtype"], row["kind"]) == (case[0], "bf16", "lowp")
        per_element = bench_lowp.bytes_per_element(bench_lowp.CASES[case].dtypes)
        assert row["gb_per_s"] == per_element * 1000 / row["pywd_s"] / 1e9
        assert row["vs_f32"] > 0 and row["f32_s"] > 0
        threads = bench.config()["threads"]
        assert row["ns_per_element_core"] == row["pywd_s"] * threads / 1000 * 1e9


def test_a_16_bit_case_steps_its_own_storage():
    """The bench's 16-bit step updates arrays of the case's dtypes, its float32 twin
    float32 ones, and each call moves the params."""
    from pywd.bench import lowp as bench_lowp
    pytest.importorskip("ml_dtypes")
    case = bench_lowp.CASES[("momentum SR", "bf16")]
    for step, dtype in ((bench_lowp.step_case(case, [(64,), (3, 5)]), bench_lowp.bfloat16()),
                        (bench_lowp.float32_case(case, [(64,), (3, 5)]), np.dtype(np.float32))):
        params = step.arrays[0]
        assert {a.dtype for lst in step.arrays for a in lst} == {dtype}
        before = [p.astype(np.float32) for p in params]
        step()
        assert all((p.astype(np.float32) != b).any() for p, b in zip(params, before))


def test_8_bit_rows_count_their_storage_bytes_and_name_their_peers():
    """AdamW with 8-bit moments moves 12 + 4.06 bytes per element with float32 params and
    grads (6 + 4.06 with bfloat16); its row times pywd's float32 AdamW beside it, and
    bitsandbytes' and torchao's AdamW8bit where they are installed."""
    from pywd.bench import q8 as bench_q8
    assert bench_q8.bytes_per_element("float32") == 12 + 4 * (1 + 4 / 256)
    row = bench.q8_row(("adamw 8bit", "f32/q8"), "1000", [(1000,)], 0.001)
    assert (row["kernel"], row["dtype"], row["kind"]) == ("adamw 8bit", "f32/q8", "q8")
    assert row["gb_per_s"] == bench_q8.bytes_per_element("float32") * 1000 / row["pywd_s"] / 1e9
    assert row["vs_f32"] > 0
    for key in ("torch_s", "torchao_s"):              # (where the peer is installed)
        assert key not in row or row[key] > 0
    step = bench_q8.step_case([(600,), (3, 5)], "float32")
    params, _, m, v = step.arrays
    before = [p.copy() for p in params]
    step()
    assert all(isinstance(s, pywd.QuantizedState) for s in m + v)
    assert all((p != b).any() for p, b in zip(params, before))
    out = io.StringIO()
    bench.report(dict(machine="m", config=bench.config(), full=True, copy_gb_per_s=1.0,
                      rmw_gb_per_s=1.0, rows=[row]), out)
    assert "8-bit state (AdamW" in out.getvalue()
    full = [(names, size) for names, size, _ in bench.plan(True, 0.1)]
    assert (["adamw 8bit"], "16M") in full and (["adamw 8bit"], "1M") in full


def test_only_and_sizes_pick_rows_before_anything_runs():
    """--only: a part of the row's name, or a shell pattern; --sizes: size labels. The
    plan lists every row of a run without timing any; the default run is a small one."""
    full = [(names, size) for names, size, _ in bench.plan(True, 0.1)]
    assert (["adafactor"], "resnet50") in full and (["muon"], "4096^2") in full
    assert (["AdamW.step usual"], "16M") in full and (["orthogonal"], "2048^2") in full
    default = [(names, size) for names, size, _ in bench.plan(False, 0.1)]
    assert len(default) <= 20 and (["adamw"], "16M") in default
    assert not {size for _, size in default} & {"gpt2x2", "64K", "4096^2"}
    assert bench.matches("adamw+clip", "adamw") and bench.matches("AdamW.step usual", "adamw")
    assert bench.matches("sgd+l1", "sgd*") and not bench.matches("momentum", "sgd*")
    assert not bench.matches("nesterov", "adam") and bench.matches("anything", None)


def test_progress_says_which_row_how_many_are_left_and_the_time_to_come():
    out, now = io.StringIO(), [100.0]
    ticker = bench.Progress(5, out, clock=lambda: now[0])
    ticker.row(0, "probe")
    now[0] = 110.0
    ticker.row(2, "adamw 16M")
    now[0] = 280.0
    ticker.row(4, "muon 4096^2")
    assert out.getvalue().splitlines() == [
        "[1/5] probe: 0 s so far",
        "[3/5] adamw 16M: 10 s so far, about 15 s left",
        "[5/5] muon 4096^2: 3.0 min so far, about 45 s left"]


def test_compare_flags_a_row_only_when_the_runs_rounds_do_not_overlap():
    def result(**rows):
        return dict(rows=[dict(kernel=k, size="16M", dtype="float32", pywd_s=min(p),
                               pywd_rounds_s=p, numpy_rounds_s=n, noisy=k == "noisy")
                          for k, (p, n) in rows.items()])
    earlier = result(adamw=([1.0, 1.1], [10.0, 10.0]), sgd=([1.0, 1.6], [5.0, 5.0]),
                     busy=([1.0, 1.0], [10.0, 10.0]), lion=([1.0, 1.0], [2.0, 2.0]),
                     noisy=([1.0, 1.1], [10.0, 10.0]))
    now = bench.compare(result(adamw=([1.6, 1.5], [10.0, 10.0]),    # slower, ratio too
                               sgd=([1.9, 1.9], [5.0, 5.0]),        # within the saved range
                               busy=([1.5, 1.6], [15.0, 16.0]),     # NumPy slowed alike
                               lion=([0.8, 0.8], [2.0, 2.0]),        # faster
                               noisy=([1.6, 1.5], [10.0, 10.0]),     # a noisy row: not judged
                               new=([1.0], [1.0])), earlier)
    rows = {r["kernel"]: r for r in now["rows"]}
    assert rows["adamw"]["slower"] and rows["adamw"]["saved_ratio"] == 1 / 1.5
    assert not rows["sgd"]["slower"] and not rows["busy"]["slower"]
    assert not rows["noisy"]["slower"]
    assert not rows["lion"]["slower"] and rows["lion"]["saved_ratio"] == 1.25
    assert "saved_ratio" not in rows["new"]


def test_two_runs_of_the_same_code_flag_nothing_in_20_tries():
    """No false alarm: the same rows measured twice, 20 times over (short budgets, so noisier
    than the bench's own)."""
    cases = [("sgd+decay", "4K", [(4096,)]), ("adamw", "64K", [(65536,)])]
    for _ in range(20):
        runs = [dict(rows=[bench.kernel_row(k, size, np.float32, shapes, budget=0.01)
                           for k, size, shapes in cases]) for _ in range(2)]
        flagged = [r["kernel"] for r in bench.compare(*runs)["rows"] if r["slower"]]
        assert flagged == []


def test_the_command_runs_a_subset_saves_compares_and_draws(tmp_path, capsys):
    saved = tmp_path / "run.json"
    args = ["--only", "sgd+decay", "--sizes", "4K", "--progress"]
    assert bench.main(args + ["--save", str(saved)]) == 0
    first = json.loads(saved.read_text())
    assert [(r["kernel"], r["size"]) for r in first["rows"]] == [("sgd+decay", "4K")]
    assert "[2/2] sgd+decay 4K" in capsys.readouterr().err
    assert bench.main(args + ["--compare", str(saved), "--json"]) == 0
    out = capsys.readouterr().out
    (row,) = json.loads(out)["rows"]                # --json stays pure JSON on stdout
    assert row["saved_ratio"] > 0 and isinstance(row["slower"], bool)
    pytest.importorskip("matplotlib")
    picture = tmp_path / "run.png"
    assert bench.main(args + ["--plot", str(picture)]) == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_the_plot_has_a_panel_for_each_kind_of_row_that_ran(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from pywd.bench import plot as bench_plot
    panels = []
    real = bench_plot.pyplot().subplots

    def counting(rows, cols, **kwargs):
        panels.append(cols)
        return real(rows, cols, **kwargs)
    monkeypatch.setattr(bench_plot.pyplot(), "subplots", counting)
    fill = dict(kernel="normal", size="16M", dtype="float32", elements=10, numpy_s=1.0,
                elements_per_s=20.0)
    for rows, expected in (([kernel_row()], 1), ([fill], 1), ([kernel_row(), fill], 2)):
        bench_plot.plot(made_up_result(rows), tmp_path / "p.png")
        assert panels[-1] == expected


def test_a_bad_compare_file_is_refused_before_the_run(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    for path in (bad, tmp_path / "missing.json"):
        with pytest.raises(SystemExit):
            bench.main(["--compare", str(path)])
        assert "not a saved bench result" in capsys.readouterr().err


# ------------------------------------------------- the project's targets (bench/targets.py)
@pytest.fixture
def targets():
    folder = str(Path(__file__).resolve().parents[1] / "bench")
    sys.path.insert(0, folder)
    try:
        import targets as module
        yield module
    finally:
        sys.path.remove(folder)


def test_the_targets_are_judged_on_a_runs_rows(targets):
    rows = [kernel_row(), kernel_row(size="4K", pywd_s=2e-6, numpy_s=7e-6, in_cache=True,
                                     bandwidth_share=None),
            dict(kernel="normal", size="16M", dtype="float32", vs_numpy=7.0),
            dict(kernel="normal", size="16M", dtype="float64", vs_numpy=2.5),
            dict(kernel="orthogonal", size="2048^2", dtype="float32", vs_numpy=3.0)]
    met = {t: ok for t, ok, _ in targets.targets(rows)}
    assert met == {"16M float32 sgd+decay >= 10x the NumPy loop": True,
                   "4K float32 sgd+decay <= 1.5 us per call": False,
                   "16M float32 sgd+decay >= 85% of probe RMW bandwidth": True,
                   "16M float32 normal >= 6x the NumPy loop": True,
                   "16M float64 normal >= 3x the NumPy loop": False,
                   "orthogonal_ 2048x2048 no slower than numpy.linalg.qr": True}
    rows[-1].update(torch_s=0.15, vs_torch=0.75)
    assert ("orthogonal_ 2048x2048 no slower than torch.nn.init.orthogonal_", False,
            "0.75x") in targets.targets(rows)


@pytest.mark.parametrize("pywd_s, share, met", [
    (0.006, 0.70, True),     # 1.67x torch: the ratio itself
    (0.009, 0.60, False),    # 1.11x, torch at 54% of the probe: 1.5x is within reach
    (0.008, 0.90, True),     # 1.25x, torch at 72%: 1.5x would be 108%, so 85% and no slower
    (0.008, 0.80, False),    # capped, but below 85% of the probe
    (0.011, 0.86, False),    # capped, above 85%, but slower than torch
])
def test_the_torch_target_is_the_ratio_unless_the_probe_caps_it(targets, pywd_s, share, met):
    row = dict(torch_s=0.010, pywd_s=pywd_s, bandwidth_share=share)
    name, ok, measured = targets.torch_target("AdamW", row, 1.5)
    assert ok is met and name.startswith("usual optim.AdamW >= 1.5x torch fused")
    assert measured.startswith(f"{0.010 / pywd_s:.2f}x torch")
