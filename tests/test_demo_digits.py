"""Demo 9: an MLP on scikit-learn's bundled digits (real data), quick run: zero
init stays at chance with every ReLU dead, He init learns, the same weight_decay is mild
decoupled, underfitting as Adam's L2 and sparse as L1, and the story gives those numbers.
Skipped without scikit-learn (the demo extra)."""
import pytest

pytest.importorskip("sklearn")
from pywd.demo import experiments  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return experiments.digits(quick=True)


def test_the_split_is_fixed_and_centred_on_the_training_mean():
    (x, labels), (x_test, labels_test) = experiments.load_digits()
    assert x.shape == (1297, 64) and x_test.shape == (500, 64)
    assert set(labels) == set(labels_test) == set(range(10))
    assert abs(x.mean(axis=0)).max() < 1e-12
    again = experiments.load_digits()
    assert (again[1][0] == x_test).all()


def test_zero_init_stays_at_chance_with_every_relu_dead(digits):
    zero = digits[0]["zero init"]
    assert zero["held_out"] < 0.2 and zero["dead"] == 1.0 and zero["max_abs"] == 0.0


def test_he_init_learns_and_decoupled_decay_keeps_its_accuracy(digits):
    n = digits[0]
    assert n["He, no decay"]["held_out"] > 0.9
    assert abs(n["He, decoupled"]["held_out"] - n["He, no decay"]["held_out"]) < 0.03
    assert n["He, decoupled"]["rms"] < n["He, no decay"]["rms"]


def test_adam_l2_underfits_and_l1_makes_exact_zeros_at_the_same_coefficient(digits):
    n = digits[0]
    assert n["He, L2"]["train"] < n["He, decoupled"]["train"] - 0.1        # underfits
    assert n["He, L2"]["max_abs"] < 0.5 * n["He, no decay"]["max_abs"]
    assert n["He, L1"]["held_out"] > 0.9 and n["He, L1"]["exact_zeros"] > 0.05
    assert n["He, decoupled"]["exact_zeros"] == n["He, L2"]["exact_zeros"] == 0.0
    assert all(n[name]["dead"] < 0.1 for name in n if name.startswith("He"))


def test_the_story_gives_the_numbers(digits):
    n, _, story = digits
    text = " ".join(story)
    assert f"from zero init {n['zero init']['held_out']:.1%}" in text
    assert f"L1 {n['He, L1']['held_out']:.1%} with {n['He, L1']['exact_zeros']:.0%}" in text
    assert f"largest |w| {n['init_max_abs_he']:.2g}" in text


@pytest.fixture(scope="module")
def storage():
    return experiments.eight_bit_state(quick=True)


def test_8_bit_state_trains_the_digits_as_float32_state_does(storage):
    """Demo 10, quick: held-out accuracy with every state tensor in 8 bits within 1.5 points
    of float32 state's (2 seeds, 5 epochs), on the synthetic classes too (1000 steps); the
    story gives the numbers."""
    numbers, _, story = storage
    f32, q8 = numbers["float32 state"], numbers["8-bit state"]
    assert f32["held_out"] > 0.9 and abs(q8["held_out"] - f32["held_out"]) < 0.015
    assert f32["synthetic"] > 0.5 and abs(q8["synthetic"] - f32["synthetic"]) < 0.015
    assert f"{q8['held_out']:.1%}" in story[0] and f"{q8['synthetic']:.1%}" in story[1]
    if "bfloat16 weights and state" in numbers:
        bf16 = numbers["bfloat16 weights and state"]
        assert abs(bf16["held_out"] - f32["held_out"]) < 0.015
        assert abs(bf16["synthetic"] - f32["synthetic"]) < 0.015


@pytest.fixture(scope="module")
def equilibrium():
    return experiments.rotational_equilibrium_demo(quick=True)


def test_sgd_reaches_the_predicted_rotational_equilibrium(equilibrium):
    """Demo 11, quick (25 epochs, one seed): SGD's W1 (followed by a normalisation) turns by
    the predicted angle per step within 10%, and its norm is within 10% of the prediction
    from the measured gradient norm; AdamW's steps have about the size the model assumes."""
    numbers, _, _ = equilibrium
    sgd = numbers["SGD"]
    assert abs(sgd["ratio"]["angle"] - 1) < 0.1 and abs(sgd["ratio"]["norm"] - 1) < 0.1
    assert 0.7 < numbers["AdamW"]["ratio"]["update"] < 1.5


def test_without_decay_the_norm_grows_and_the_effective_lr_falls(equilibrium):
    numbers, _, story = equilibrium
    for name in ("AdamW", "SGD"):
        n = numbers[name]
        assert n["no decay"]["norm"] > n["start_norm"] > n["decay"]["norm"]
        assert n["no decay"]["angle"] < n["decay"]["angle"] / 3
        # holding the decay run's norm keeps the decay run's angle, without any decay
        held = n["no decay, norm of the decay run"]
        assert abs(held["angle"] / n["decay"]["angle"] - 1) < 0.1
        assert held["apart"] < n["no decay"]["apart"]
    text = " ".join(story)
    sgd = numbers["SGD"]
    assert f"W1's norm settles at {sgd['decay']['norm']:.3g}" in text
    assert f"angle falls to {sgd['no decay']['angle']:.2g} rad" in text


@pytest.fixture(scope="module")
def timescales():
    return experiments.timescale_across_sizes(quick=True)


def test_the_timescale_demo_compares_both_ways_of_carrying_the_decay(timescales):
    """Demo 12, quick: held-out accuracy per weight decay on both sizes (the large set
    learns: > 90% at its best); the small set's best carried over as the same coefficient
    and as the same timescale in epochs (a quarter of it: the data grew four times); the
    story gives those numbers."""
    numbers, _, story = timescales
    small, large = experiments.TIMESCALE_SIZES
    best = numbers["best"]
    assert numbers["accuracy"][large][best[large]] > 0.9
    assert numbers["carried"]["same weight_decay"] == best[small]
    ratio = numbers["carried"]["same timescale"] / best[small]
    assert abs(ratio - small / large) < 1e-12          # epochs of dataset / batch steps
    text = " ".join(story)
    for how in ("same weight_decay", "same timescale"):
        assert f"{numbers['carried_accuracy'][how]:.1%}" in text
