"""The bench command's pieces (its timings are read by people, never asserted here)."""
import io

import numpy as np

from pywd import bench
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
        assert kernel.bytes_per_element == 4 * (2 * arrays - 1) + norm_pass


def test_bytes_per_element_follow_the_speed_model():
    # DESIGN.md: SGD with decay 12, with momentum 20, Adam/AdamW 28 (float32)
    assert bench.KERNELS["sgd+decay"].bytes_per_element == 12
    assert bench.KERNELS["momentum"].bytes_per_element == 20
    assert bench.KERNELS["adamw"].bytes_per_element == 28
    assert bench.KERNELS["amsgrad"].bytes_per_element == 36    # max_exp_avg_sqs read + written


def test_best_time_is_positive_and_report_prints_every_row():
    assert 0 < bench.best_time(lambda: None, budget=0.01) < 1e-3
    rows = [dict(kernel="sgd+decay", size="16M", dtype="float32", arrays=1, elements=1 << 24,
                 reference_s=0.05, pywd_s=0.004, speedup=12.5, gb_per_s=50.0,
                 bandwidth_share=0.9),
            dict(kernel="sgd+decay", size="4K", dtype="float32", arrays=1, elements=4096,
                 reference_s=7e-6, pywd_s=2e-6, speedup=3.5, gb_per_s=24.0,
                 bandwidth_share=0.5)]
    result = dict(machine="test CPU", config=dict(pywd="0", threads=2, openmp=True, isa="avx2"),
                  copy_gb_per_s=30.0, rmw_gb_per_s=45.0, rows=rows, targets=bench.targets(rows))
    met = {t["target"]: t["met"] for t in result["targets"]}
    assert met == {"16M float32 SGD+decay >= 10x reference": True,
                   "16M float32 SGD+decay >= 85% of probe RMW bandwidth": True,
                   "4K float32 SGD+decay <= 1.5 us per call": False}
    out = io.StringIO()
    bench.report(result, out)
    text = out.getvalue()
    assert "test CPU" in text and "12.5x" in text and "[MISSED] 4K" in text
