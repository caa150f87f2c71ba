"""`python -m pywd.demo --quick`: it runs, and the claims its story makes hold."""
import subprocess
import sys

import pytest

from pywd import demo


@pytest.fixture(scope="module")
def results():
    return demo.run(quick=True, echo=lambda *a: None)


def test_constant_init_keeps_every_hidden_unit_identical(results):
    r = results[1]
    assert r["hidden_unit_spread_constant"] == 0.0          # exactly: symmetry never breaks
    assert r["final_loss_he"] < 0.5 * r["final_loss_constant"]


def test_he_keeps_activation_scale_and_small_init_vanishes(results):
    he = results[2][("relu", "he")]["activation_rms"]
    assert len(he) == 20 and all(0.5 <= v <= 2.0 for v in he)
    assert results[2][("relu", "std 0.01")]["activation_rms"][-1] < 1e-3
    assert results[2][("relu", "too large (3x he)")]["activation_rms"][-1] > 1e3
    assert results[2][("tanh", "too large (3x he)")]["dead_or_saturated"][-1] > 0.3


def test_l2_equals_decoupled_only_for_plain_sgd(results):
    r = results[3]
    assert r["max_gap_sgd"] < 1e-10                           # float64 rounding only
    assert r["max_gap_momentum"] > 1e-3 and r["max_gap_adam"] > 1e-3
    assert r["weight_norm_adam+l2"] != r["weight_norm_adamw"]


def test_identity_recurrence_keeps_gradients_through_time(results):
    irnn, rand = results[4]["identity (IRNN)"], results[4]["random (xavier)"]
    assert irnn["first_to_last_grad_ratio"] > 0.1
    assert rand["first_to_last_grad_ratio"] < 1e-3           # vanished over 30 steps
    assert irnn["final_loss"] < rand["final_loss"]


def test_l1_makes_exact_zeros_and_l2_does_not(results):
    r = results[5]
    assert r["zero_fraction_l1"] > 0.5 and r["zero_fraction_l2"] == 0.0
    assert r["informative_kept_l1"] >= 8


def test_command_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pywd.demo", "--quick", "--only", "5",
                          "--out", str(tmp_path)], capture_output=True, text=True, check=True)
    assert "zero_fraction_l1" in out.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out.stdout
    else:
        assert (tmp_path / "demo_5.png").exists()
