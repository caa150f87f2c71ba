"""`python -m pywd.demo --quick`: it runs, and the claims its story makes hold."""
import subprocess
import sys

import pytest

from pywd import demo


@pytest.fixture(scope="module")
def printed_and_results():
    lines = []
    return lines, demo.run(quick=True, echo=lines.append)


@pytest.fixture(scope="module")
def results(printed_and_results):
    return printed_and_results[1]


def test_the_printout_is_sentences_with_units_and_says_quick_differs(printed_and_results):
    lines, results = printed_and_results
    text = " ".join(" ".join(lines).split())
    assert text.startswith("--quick: smaller and shorter runs than the full demo")
    assert "the numbers differ from docs/demo.md's, which come from the full run" in text
    for key in ("max_gap_sgd", "weight_norm_adamw", "zero_fraction_l1", "activation_rms"):
        assert key not in text                               # no raw dict keys
    gap = results[3]["max_gap_sgd"]
    assert (f"Over 200 steps, the largest difference between a weight trained by SGD with "
            f"decay=\"l2\" and with \"decoupled\" is {gap:.1e}") in text
    assert f"leaves {results[5]['zero_fraction_l1']:.0%} of the weights exactly 0" in text
    assert "Why: Adam divides the L2 term wd*w by the gradient's running rms" in text


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
    dead = {r["dead_or_saturated"][-1] for (act, _), r in results[2].items() if act == "relu"}
    assert len(dead) == 1 and 0 < dead.pop() < 0.5           # the same at every scale


def test_l2_equals_decoupled_only_for_plain_sgd(results):
    r = results[3]
    assert r["max_gap_sgd"] < 1e-10                           # float64 rounding only
    assert r["max_gap_momentum"] > 1e-3 and r["max_gap_adam"] > 1e-3


def test_adam_l2_ends_smaller_because_it_pulls_small_gradient_weights_to_zero(results):
    """Demo 3's explanation: normalised L2 moves low-gradient weights to 0 at about lr per
    step, so Adam + L2 has the smaller norm, more weights near 0, and underfits."""
    r = results[3]
    assert r["weight_norm_adam+l2"] < 0.5 * r["weight_norm_adamw"] < r["weight_norm_init"]
    assert r["near_zero_fraction_adam+l2"] > 5 * r["near_zero_fraction_adamw"]
    assert r["train_loss_adam+l2"] > 2 * r["train_loss_adamw"]
    assert r["held_out_loss_adam+l2"] > r["held_out_loss_adamw"]


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
    assert "of the weights exactly 0" in out.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out.stdout
    else:
        assert (tmp_path / "demo_5.png").exists()


def test_each_title_is_its_whole_first_paragraph_and_help_lists_them(printed_and_results):
    from pywd.demo.experiments import EXPERIMENTS, title
    lines, _ = printed_and_results
    assert title(6) == ("Weight decay through a run: the rules under a one-cycle schedule, "
                        "and decay toward the pretrained weights when fine-tuning.")
    assert f"6. {title(6)}" in lines
    out = subprocess.run([sys.executable, "-m", "pywd.demo", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for number, experiment in EXPERIMENTS.items():
        assert f"{number}  {experiment.__name__}" in out
        assert " ".join(title(number).split()[:4]) in " ".join(out.split())


def test_only_takes_a_name_or_a_number_and_refuses_others():
    from pywd.demo.__main__ import experiment_number
    assert experiment_number("digits") == experiment_number("9") == 9
    assert experiment_number("decay-vs-l2") == 3
    out = subprocess.run([sys.executable, "-m", "pywd.demo", "--only", "mnist"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "no experiment 'mnist'" in out.stderr
    assert "zero_init, activation_scale" in out.stderr


def test_decay_rules_differ_over_a_one_cycle_run_and_anchors_hold_weights(results):
    r = results[6]
    total, peak = r["total_decay"], r["peak_decay"]
    # per step: lr*wd, wd*lr/max_lr, wd*lr^2/max_lr: at the peak lr, independent is wd
    # itself and corrected equals decoupled; below it, corrected decays less
    assert peak["independent"] == pytest.approx(1e-3, rel=1e-9)
    assert peak["corrected"] == pytest.approx(peak["decoupled"], rel=1e-9)
    assert total["corrected"] < total["decoupled"] < total["independent"]
    assert r["final_norm"]["independent"] < r["final_norm"]["decoupled"]
    tuned = r["finetune"]
    anchored, plain = tuned["toward the pretrained weights"], tuned["toward 0"]
    assert anchored["distance"] < 0.6 * plain["distance"]
    assert plain["norm"] < 0.7 * r["pretrained_norm"] < anchored["norm"]


def test_bfloat16_with_stochastic_rounding_or_kahan_trains_like_float32(results):
    """Demo 7: over seeds and learning rates, the mean held-out MSE of bf16 training with
    stochastic rounding lies within float32's seed-to-seed range, with Kahan summation
    within it widened by a tenth of float32's mean (the full run puts Kahan at the range's
    top); rounded to nearest it is worse than float32's worst seed by half again."""
    pytest.importorskip("ml_dtypes")
    r = results[7]
    for lr in r["lrs"]:
        low, high = r["float32_spread"][lr]
        assert low <= r["held_out_mean"]["bf16 stochastic", lr] <= high, lr
        margin = 0.1 * r["held_out_mean"]["float32", lr]
        assert low - margin <= r["held_out_mean"]["bf16 Kahan", lr] <= high + margin, lr
        assert r["held_out_mean"]["bf16 nearest", lr] > 1.5 * high, lr


def test_schedule_free_and_cosine_adamw_both_learn_and_the_story_gives_their_numbers(
        printed_and_results):
    """Demo 8: each method at its best lr learns the task (held-out MSE well below the
    untrained net's), x being what schedule-free AdamW is evaluated with."""
    lines, results = printed_and_results
    r = results[8]
    for method in ("AdamW + cosine", "schedule-free AdamW"):
        assert r["final"][method] < 0.5 * r["untrained"], method
        assert len(r["curves"][method]) == 10 and r["curves"][method][-1] == r["final"][method]
    text = " ".join(" ".join(lines).split())
    assert f"schedule-free AdamW's average x at {r['final']['schedule-free AdamW']:.3g}" in text


def test_an_experiment_whose_package_is_missing_is_skipped_saying_so(monkeypatch):
    monkeypatch.setitem(demo.experiments.NEEDS, 9, ("no_such_module_for_pywd", "scikit-learn"))
    lines = []
    assert demo.run(quick=True, only=9, echo=lines.append) == {}
    assert lines[-1] == ("9. skipped: scikit-learn is not installed (pip install "
                         "'pywd[demo]')")
