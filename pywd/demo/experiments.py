"""The demo's twelve experiments. Each takes `quick` and returns (numbers, plot, story), where
numbers is a dict the tests assert on, plot(ax) draws the experiment's picture and story is
what it found, in sentences with units."""
import importlib.util
import math
import textwrap

import numpy as np

import pywd
from pywd import init, optim, reference
from pywd.optim import lr_scheduler

from ..weight_decay import rotational_equilibrium, timescale, weight_decay_for_timescale
from .nets import MLP, Classifier, NormedClassifier, ReluRNN


# ----------------------------------------------------------------------------- data, training
def regression_task(seed=0, n_in=8, n_train=512, n_test=512, noise=0.1):
    """A teacher MLP with random weights labels Gaussian inputs (plus noise)."""
    rng = np.random.default_rng(seed)
    teacher = MLP(n_in, 32, 1)
    init.kaiming_normal_(teacher.params[0], nonlinearity="relu", rng=seed)
    init.xavier_normal_(teacher.params[2], rng=seed + 1)
    x = rng.standard_normal((n_train + n_test, n_in))
    w1, b1, w2, b2 = teacher.params
    y = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2 + noise * rng.standard_normal((len(x), 1))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def teacher_classes(seed=0, n_in=16, n_classes=10, n_train=16384, n_test=4096, flip=0.05):
    """Gaussian inputs labelled by a random teacher network's largest logit (each logit
    standardised over the inputs, so that the classes are about equally common), a fraction
    `flip` of the training labels then replaced by random ones. float32 inputs."""
    rng = np.random.default_rng(seed)
    teacher = Classifier(n_in, 32, n_classes)
    init.kaiming_normal_(teacher.params[0], nonlinearity="relu", rng=seed)
    init.kaiming_normal_(teacher.params[2], nonlinearity="linear", rng=seed + 1)
    x = rng.standard_normal((n_train + n_test, n_in))
    logits = teacher.forward(x)[2]
    labels = ((logits - logits.mean(axis=0)) / logits.std(axis=0)).argmax(axis=1)
    noisy = rng.random(n_train) < flip
    labels[:n_train][noisy] = rng.integers(0, n_classes, int(noisy.sum()))
    x = x.astype(np.float32)
    return (x[:n_train], labels[:n_train]), (x[n_train:], labels[n_train:])


def he_mlp(n_in, n_hidden, seed):
    net = MLP(n_in, n_hidden, 1)
    init.kaiming_normal_(net.params[0], nonlinearity="relu", rng=seed)
    init.xavier_normal_(net.params[2], rng=seed + 1)
    return net


def he_init(net, seed):
    """A classifier's start: its hidden weights He-initialised for the ReLU (rng seed), its
    output weights for a linear layer (seed + 100); returns the net."""
    hidden, output = [p for p in net.params if p.ndim == 2]
    init.kaiming_normal_(hidden, nonlinearity="relu", rng=seed)
    init.kaiming_normal_(output, nonlinearity="linear", rng=seed + 100)
    return net


def batches(n, batch, steps, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, batch) for _ in range(steps)]


def train_mlp(net, data, steps, update, seed=1):
    """Minibatch training; update(params, grads, t) applies one pywd step. Returns the losses
    on the whole training set, every 10 steps."""
    x, y = data
    curve = []
    for t, idx in enumerate(batches(len(x), 64, steps, seed)):
        _, grads = net.loss_and_grads(x[idx], y[idx])
        update(net.params, grads, t)
        if t % 10 == 0:
            curve.append(net.loss(x, y))
    return curve


def sgd_update(lr, momentum=0.0, weight_decay=0.0, decay="decoupled"):
    """A stateful closure around pywd.sgd (one call updates every parameter)."""
    bufs = []

    def update(params, grads, t):
        if momentum and not bufs:
            bufs.extend(np.zeros_like(p) for p in params)
        pywd.sgd(params, grads, bufs if momentum else None, lr=lr, momentum=momentum,
                 weight_decay=weight_decay, decay=decay, first_step=t == 0)
    return update


def adam_update(lr, weight_decay, decay):
    state = []

    def update(params, grads, t):
        if not state:
            state.extend([[np.zeros_like(p) for p in params] for _ in range(2)])
        pywd.adam(params, grads, *state, step=t + 1, lr=lr, weight_decay=weight_decay,
                  decay=decay)
    return update


# ----------------------------------------------------------------------------- experiments
def zero_init(quick):
    """1. Constant hidden weights never break symmetry: every hidden unit stays the same."""
    train, _ = regression_task(0)
    steps = 300 if quick else 2000
    const = MLP(8, 32, 1)
    init.constant_(const.params[0], 0.1)
    init.constant_(const.params[2], 0.1)
    he = he_mlp(8, 32, seed=3)
    curves = {name: train_mlp(net, train, steps, sgd_update(0.05, momentum=0.9))
              for name, net in (("constant", const), ("he", he))}
    w1, w2 = const.params[0], const.params[2]
    spread = max(float(np.max(np.abs(w1 - w1[0]))), float(np.max(np.abs(w2 - w2[:, :1]))))
    numbers = {"hidden_unit_spread_constant": spread,
               "final_loss_constant": curves["constant"][-1], "final_loss_he": curves["he"][-1]}
    story = [f"After {steps} steps of SGD with momentum, the largest difference between two "
             f"hidden units of the constant-initialised net is {spread:.3g}: its 32 units are "
             f"one unit copied, and its training MSE is stuck at "
             f"{numbers['final_loss_constant']:.3g}. He-initialised, the same net reaches "
             f"{numbers['final_loss_he']:.3g}."]

    def plot(ax):
        for name, curve in curves.items():
            ax.semilogy(np.arange(len(curve)) * 10, curve, label=f"{name} init")
        ax.set(title="1. constant vs He init: training loss", xlabel="step", ylabel="MSE")
        ax.legend()
    return numbers, plot, story


def activation_scale(quick):
    """2. Activation scale through a deep stack at initialisation."""
    depth, width = (20, 256) if quick else (50, 512)
    x0 = np.random.default_rng(0).standard_normal((256, width))
    schemes = {   # each draws a fresh matrix per layer from its own generator
        "std 0.01": lambda w, g: init.normal_(w, std=0.01, rng=g),
        "xavier": lambda w, g: init.xavier_normal_(w, rng=g),
        "he": lambda w, g: init.kaiming_normal_(w, nonlinearity="relu", rng=g),
        "too large (3x he)": lambda w, g: init.kaiming_normal_(w, nonlinearity="relu", rng=g) * 3,
    }
    acts = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}
    numbers = {}
    for act_name, act in acts.items():
        for name, fill in schemes.items():
            gen, a, rms, odd = pywd.Generator(1), x0, [], []
            for _ in range(depth):
                a = act(a @ fill(np.empty((width, width)), gen).T)
                # He et al.'s invariant: the activations' mean square (1 for He and ReLU)
                rms.append(float(np.sqrt(np.mean(a * a))))
                # dead ReLUs: units silent for the whole batch; saturated tanh: |a| > 0.99
                odd.append(float(np.mean(np.all(a == 0, axis=0))) if act_name == "relu"
                           else float(np.mean(np.abs(a) > 0.99)))
            numbers[(act_name, name)] = {"activation_rms": rms, "dead_or_saturated": odd}
    last = {key: r["activation_rms"][-1] for key, r in numbers.items()}
    story = [f"Through {depth} ReLU layers of width {width} at init (256 random inputs), the "
             f"activations' rms at the last layer is {last[('relu', 'he')]:.2g} with He init "
             f"(it keeps the scale: He et al. chose it so), {last[('relu', 'xavier')]:.2g} with "
             f"Xavier, {last[('relu', 'std 0.01')]:.2g} with std 0.01 (vanished) and "
             f"{last[('relu', 'too large (3x he)')]:.2g} with three times He (exploded).",
             f"With tanh, three times He saturates "
             f"{numbers[('tanh', 'too large (3x he)')]['dead_or_saturated'][-1]:.0%} of the last "
             f"layer's units (|a| > 0.99), where gradients vanish. In this bias-free ReLU stack "
             f"{numbers[('relu', 'he')]['dead_or_saturated'][-1]:.0%} of the units end silent "
             f"for the whole batch at every scale: dead units come from the inputs' "
             f"correlation, which grows with depth, not from the scale."]

    def plot(ax):
        for (act_name, name), r in numbers.items():
            ax.semilogy(range(1, depth + 1), r["activation_rms"],
                        "-" if act_name == "relu" else "--", label=f"{act_name}, {name}")
        ax.set(title=f"2. activation rms through {depth} layers at init", xlabel="layer",
               ylabel="rms")
        ax.legend(fontsize=6)
    return numbers, plot, story


def decay_vs_l2(quick):
    """3. Weight decay versus L2: equal for plain SGD, different with momentum and Adam."""
    train, test = regression_task(1)
    steps = 200 if quick else 1500
    start = he_mlp(8, 32, seed=5)

    def trajectory(update):
        net = MLP(8, 32, 1)
        net.params = [p.copy() for p in start.params]
        snapshots = []
        x, y = train
        for t, idx in enumerate(batches(len(x), 64, steps, seed=2)):
            _, grads = net.loss_and_grads(x[idx], y[idx])
            update(net.params, grads, t)
            snapshots.append(np.concatenate([p.ravel() for p in net.params]))
        return net, np.array(snapshots)

    def max_gap(kind, **kw):
        runs = [trajectory(kind(**kw, decay=d)) for d in ("l2", "decoupled")]
        return float(np.max(np.abs(runs[0][1] - runs[1][1]))), runs
    sgd_gap, _ = max_gap(sgd_update, lr=0.05, weight_decay=0.01)
    momentum_gap, _ = max_gap(sgd_update, lr=0.05, momentum=0.9, weight_decay=0.01)
    adam_gap, (adam_l2, adamw) = max_gap(adam_update, lr=1e-2, weight_decay=0.1)
    numbers = {"max_gap_sgd": sgd_gap, "max_gap_momentum": momentum_gap, "max_gap_adam": adam_gap,
               "weight_norm_init": float(np.linalg.norm(np.concatenate(
                   [p.ravel() for p in start.params])))}
    for name, (net, snaps) in (("adam+l2", adam_l2), ("adamw", adamw)):
        numbers[f"weight_norm_{name}"] = float(np.linalg.norm(snaps[-1]))
        numbers[f"near_zero_fraction_{name}"] = float(np.mean(np.abs(snaps[-1]) < 0.01))
        numbers[f"train_loss_{name}"] = net.loss(*train)
        numbers[f"held_out_loss_{name}"] = net.loss(*test)
    n = numbers
    story = [f"Over {steps} steps, the largest difference between a weight trained by SGD with "
             f"decay=\"l2\" and with \"decoupled\" is {sgd_gap:.1e} (float64 rounding: for "
             f"plain SGD they are one method). With momentum 0.9 they part by up to "
             f"{momentum_gap:.2g}, with Adam by {adam_gap:.2g} (the weights' rms at init is "
             f"{n['weight_norm_init'] / math.sqrt(sum(p.size for p in start.params)):.2g}).",
             f"With the same weight_decay=0.1 and lr=0.01, Adam + L2 ends with weight norm "
             f"{n['weight_norm_adam+l2']:.3g} and AdamW with {n['weight_norm_adamw']:.3g} "
             f"(from {n['weight_norm_init']:.3g} at init). Why: Adam divides the L2 term "
             f"wd*w by the gradient's running rms like the rest of the gradient, so a weight "
             f"whose loss gradient is small moves toward 0 by about lr = 0.01 per step whatever "
             f"its size ({n['near_zero_fraction_adam+l2']:.0%} of Adam + L2's weights end "
             f"within 0.01 of 0, {n['near_zero_fraction_adamw']:.0%} of AdamW's), while AdamW "
             f"shrinks every weight by the same factor 1 - lr*wd = 0.999 per step.",
             f"The smaller norm is not better regularisation: at this coefficient Adam + L2 "
             f"underfits (training MSE {n['train_loss_adam+l2']:.3g} against AdamW's "
             f"{n['train_loss_adamw']:.3g}; held-out MSE {n['held_out_loss_adam+l2']:.3g} "
             f"against {n['held_out_loss_adamw']:.3g}). The same weight_decay is a different, "
             f"uneven decay in each; it has to be tuned for each."]

    def plot(ax):
        for name, (_, snaps) in (("Adam + L2", adam_l2), ("AdamW", adamw)):
            ax.plot(np.linalg.norm(snaps, axis=1), label=name)
        ax.set(title="3. weight norm: Adam + L2 vs AdamW (same coefficient)", xlabel="step",
               ylabel="|w|")
        ax.legend()
    return numbers, plot, story


def adding_problem(rng, batch, steps_in_time):
    """Le, Jaitly & Hinton's adding problem: values in [0, 1) and two markers; the target is
    the sum of the two marked values."""
    x = np.zeros((batch, steps_in_time, 2))
    x[:, :, 0] = rng.random((batch, steps_in_time))
    half = steps_in_time // 2
    first, second = rng.integers(0, half, batch), rng.integers(half, steps_in_time, batch)
    rows = np.arange(batch)
    x[rows, first, 1] = x[rows, second, 1] = 1.0
    return x, x[rows, first, 0] + x[rows, second, 0]


def identity_rnn(quick):
    """4. Identity versus random recurrent weights for a ReLU RNN."""
    length, hidden, steps = (30, 32, 300) if quick else (60, 48, 1200)
    rng = np.random.default_rng(4)
    nets = {"identity (IRNN)": ReluRNN(2, hidden), "random (xavier)": ReluRNN(2, hidden)}
    for name, net in nets.items():            # only the recurrent weights differ
        w_hh, w_xh, _, w_out, _ = net.params
        if name.startswith("identity"):
            init.eye_(w_hh)
        else:
            init.xavier_normal_(w_hh, rng=7)
        init.normal_(w_xh, std=0.1, rng=8)
        init.xavier_normal_(w_out, rng=9)
    x, y = adding_problem(rng, 64, length)
    held_out = adding_problem(np.random.default_rng(99), 1024, length)
    numbers = {}
    for name, net in nets.items():
        _, _, norms = net.loss_and_grads(x, y)
        state = [[np.zeros_like(p) for p in net.params] for _ in range(2)]
        batches_rng = np.random.default_rng(5)   # both nets see the same batches
        for t in range(steps):
            xb, yb = adding_problem(batches_rng, 64, length)
            _, grads, _ = net.loss_and_grads(xb, yb)
            total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if total > 1.0:                    # clip the global norm at 1, as is usual for RNNs
                grads = [g / total for g in grads]
            pywd.adam(net.params, grads, *state, step=t + 1, lr=1e-2)
        numbers[name] = {"grad_norm_through_time": norms,   # baseline loss (predict 1): 1/6
                         "first_to_last_grad_ratio": norms[0] / max(norms[-1], 1e-300),
                         "final_loss": float(net.loss_and_grads(*held_out)[0])}
    irnn, rand = numbers["identity (IRNN)"], numbers["random (xavier)"]
    story = [f"On the adding problem with sequences of T = {length} steps, at init the "
             f"gradient of the loss with respect to the first hidden state is "
             f"{irnn['first_to_last_grad_ratio']:.2g} times the one with respect to the last "
             f"for the identity-initialised RNN, and {rand['first_to_last_grad_ratio']:.1e} "
             f"times for the Xavier-random one (lost on the way back through time).",
             f"After {steps} Adam steps on the same batches, the IRNN's MSE on 1024 held-out "
             f"sequences is {irnn['final_loss']:.3g} and the random one's "
             f"{rand['final_loss']:.3g}: {rand['final_loss'] / irnn['final_loss']:.1f} times "
             f"the IRNN's (predicting the mean sum scores 0.167)."]

    def plot(ax):
        for name, r in numbers.items():
            ax.semilogy(r["grad_norm_through_time"], label=name)
        ax.set(title=f"4. |dL/dh_t| at init, adding problem (T={length})", xlabel="t",
               ylabel="gradient norm")
        ax.legend()
    return numbers, plot, story


def l1_zeros(quick):
    """5. Proximal L1 decay makes exact zeros; L2 only shrinks."""
    rng = np.random.default_rng(6)
    n, features, informative = 400, 100, 10
    truth = np.zeros(features)
    truth[:informative] = rng.standard_normal(informative) * 2
    x = rng.standard_normal((n, features))
    y = x @ truth + 0.1 * rng.standard_normal(n)
    steps = 300 if quick else 2000
    weights = {}
    for decay in ("l1", "l2"):
        w = np.zeros(features)
        init.normal_(w, std=0.1, rng=11)
        for _ in range(steps):
            grad = 2 * x.T @ (x @ w - y) / n
            pywd.sgd(w, grad, lr=0.05, weight_decay=0.5, decay=decay)
        weights[decay] = w
    numbers = {f"zero_fraction_{d}": float(np.mean(w == 0.0)) for d, w in weights.items()}
    numbers["informative_kept_l1"] = int(np.sum(weights["l1"][:informative] != 0))
    story = [f"A sparse regression ({features} features, {informative} informative), {steps} "
             f"SGD steps with weight_decay=0.5: L1 as a proximal step leaves "
             f"{numbers['zero_fraction_l1']:.0%} of the weights exactly 0 and keeps "
             f"{numbers['informative_kept_l1']} of the {informative} informative ones; L2 leaves "
             f"{numbers['zero_fraction_l2']:.0%} at exactly 0 (it only shrinks them)."]

    def plot(ax):
        for decay, w in weights.items():
            ax.plot(w, "o" if decay == "l1" else "x", label=f"{decay}: "
                    f"{100 * np.mean(w == 0):.0f}% exact zeros", markersize=3)
        ax.set(title="5. L1 (proximal) vs L2 decay: weights", xlabel="feature",
               ylabel="weight")
        ax.legend()
    return numbers, plot, story


def params_norm(params):
    return float(np.linalg.norm(np.concatenate([p.ravel() for p in params])))


def decay_over_a_run(quick):
    """6. Weight decay through a run: the rules under a one-cycle schedule, and decay toward
    the pretrained weights when fine-tuning."""
    train, _ = regression_task(2)
    steps, peak, wd = (300 if quick else 2000), 1e-2, 1e-3
    start = he_mlp(8, 32, seed=7)
    norms, decays = {}, {}
    for decay in ("decoupled", "independent", "corrected"):
        net = MLP(8, 32, 1)
        net.params = [p.copy() for p in start.params]
        opt = optim.AdamW(net.params, lr=peak, weight_decay=wd, decay=decay)
        sched = lr_scheduler.OneCycleLR(opt, max_lr=peak, total_steps=steps)
        norms[decay], decays[decay] = [], []
        x, y = train
        for idx in batches(len(x), 64, steps, seed=3):
            lr = opt.param_groups[0]["lr"]             # OneCycleLR records max_lr = peak
            decays[decay].append(1 - reference.decay_factor(lr, wd, decay, peak))
            opt.step(net.loss_and_grads(x[idx], y[idx])[1])
            sched.step()
            norms[decay].append(params_norm(net.params))
    total = {d: float(np.sum(v)) for d, v in decays.items()}

    # fine-tuning: weights trained on a task, then tuned on 64 noisier examples of it
    source, target = regression_task(3), regression_task(3, n_train=64, noise=0.5)
    pretrained = he_mlp(8, 32, seed=9)
    train_mlp(pretrained, source[0], steps, adam_update(1e-2, 0.0, "decoupled"))
    tuned = {}
    for name, anchor in (("toward 0", None), ("toward the pretrained weights", "init")):
        net = MLP(8, 32, 1)
        net.params = [p.copy() for p in pretrained.params]
        opt = optim.AdamW(net.params, lr=1e-2, weight_decay=0.5, decay_to=anchor)
        x, y = target[0]
        for idx in batches(len(x), 32, steps, seed=4):
            opt.step(net.loss_and_grads(x[idx], y[idx])[1])
        tuned[name] = dict(
            distance=params_norm([a - b for a, b in zip(net.params, pretrained.params)]),
            norm=params_norm(net.params), held_out=net.loss(*target[1]))
    numbers = {"total_decay": total, "final_norm": {d: v[-1] for d, v in norms.items()},
               "peak_decay": {d: max(v) for d, v in decays.items()},
               "finetune": tuned, "pretrained_norm": params_norm(pretrained.params),
               "pretrained_held_out": pretrained.loss(*target[1])}
    plain, anchored = tuned["toward 0"], tuned["toward the pretrained weights"]
    story = [f"AdamW on a one-cycle schedule ({steps} steps, peak lr {peak}), weight_decay="
             f"{wd} for every rule: per step, \"decoupled\" decays by lr*wd (at most "
             f"{numbers['peak_decay']['decoupled']:.1e}), \"independent\" by wd*lr/max_lr "
             f"(up to wd itself, {numbers['peak_decay']['independent']:.1e}: the coefficient "
             f"means a fraction per step, whatever the lr) and \"corrected\" by "
             f"wd*lr^2/max_lr (the same as decoupled at the peak, then falling with lr "
             f"squared). Summed over the run: {total['decoupled']:.2g}, "
             f"{total['independent']:.2g} and {total['corrected']:.2g}; the weight norm ends "
             f"at {norms['decoupled'][-1]:.3g}, {norms['independent'][-1]:.3g} and "
             f"{norms['corrected'][-1]:.3g} (from {params_norm(start.params):.3g}). The same "
             f"number is three different amounts of decay: port a coefficient with its rule.",
             f"Fine-tuning weights trained on a task on 64 noisier examples of it (label "
             f"noise 0.5: held-out MSE cannot go below 0.25), with AdamW and "
             f"weight_decay=0.5: decaying toward 0 takes the weights {plain['distance']:.3g} "
             f"away from the pretrained ones and their norm from "
             f"{numbers['pretrained_norm']:.3g} to {plain['norm']:.3g}; decay_to=\"init\" "
             f"keeps them {anchored['distance']:.3g} away (norm {anchored['norm']:.3g}). "
             f"Which generalises better is another question, which this small task does not "
             f"settle in decay_to's favour: held-out MSE {anchored['held_out']:.3g} anchored, "
             f"{plain['held_out']:.3g} toward 0, {numbers['pretrained_held_out']:.3g} for the "
             f"pretrained weights untouched."]

    def plot(ax):
        for decay, values in norms.items():
            ax.plot(values, label=f"{decay}: total decay {total[decay]:.2g}")
        ax.set(title="6. one-cycle AdamW, wd=1e-3: weight norm by decay rule", xlabel="step",
               ylabel="|w|")
        ax.legend()
    return numbers, plot, story


def bfloat16_training(quick):
    """7. Training with bfloat16 weights and state: stochastic rounding and Kahan summation
    keep float32's results, round-to-nearest loses the small updates."""
    try:
        import ml_dtypes
    except ImportError:
        story = ["Needs ml_dtypes for bfloat16 (pip install 'pywd[lowp]'): skipped."]
        return {}, lambda ax: ax.set_title("7. needs ml_dtypes"), story
    bf16 = np.dtype(ml_dtypes.bfloat16)
    train, test = regression_task(4)
    steps = 400 if quick else 3000
    seeds = range(3 if quick else 5)
    lrs = (3e-4, 1e-3) if quick else (1e-4, 3e-4, 1e-3, 3e-3)
    variants = ("float32", "bf16 stochastic", "bf16 Kahan", "bf16 nearest")
    final = {}
    curves = {}
    for lr in lrs:
        for seed in seeds:
            start = he_mlp(8, 32, seed=20 + seed)
            for variant in variants:
                net = MLP(8, 32, 1, np.float32)
                store = np.float32 if variant == "float32" else bf16
                params = [p.astype(store) for p in start.params]
                state = [[np.zeros_like(p) for p in params] for _ in range(2)]
                comp = [np.zeros_like(p) for p in params] if variant == "bf16 Kahan" else None
                curve = []
                x, y = train
                for t, idx in enumerate(batches(len(x), 64, steps, seed)):
                    net.params = [p.astype(np.float32) for p in params]
                    grads = net.loss_and_grads(x[idx].astype(np.float32),
                                               y[idx].astype(np.float32))[1]
                    pywd.adamw(params, grads, *state, step=t + 1, lr=lr, weight_decay=0.01,
                               rounding="nearest" if variant != "bf16 stochastic" else
                               "stochastic", rng=seed, compensation=comp)
                    if t % 50 == 0 and seed == 0:
                        curve.append(net.loss(*train))
                net.params = [p.astype(np.float32) for p in params]
                final[variant, lr, seed] = net.loss(*test)
                if seed == 0:
                    curves[variant, lr] = curve
    mean = {(v, lr): float(np.mean([final[v, lr, s] for s in seeds]))
            for v in variants for lr in lrs}
    spread = {lr: (min(final["float32", lr, s] for s in seeds),
                   max(final["float32", lr, s] for s in seeds)) for lr in lrs}
    inside = {v: sum(spread[lr][0] <= mean[v, lr] <= spread[lr][1] for lr in lrs)
              for v in variants}
    worst_nearest = mean["bf16 nearest", lrs[0]] / mean["float32", lrs[0]]
    numbers = {"held_out_mean": mean, "float32_spread": spread, "lrs": lrs,
               "seeds": len(seeds), "steps": steps}
    rows = "; ".join(
        f"lr {lr:g}: float32 {mean['float32', lr]:.3g} (seeds {spread[lr][0]:.3g} to "
        f"{spread[lr][1]:.3g}), stochastic {mean['bf16 stochastic', lr]:.3g}, Kahan "
        f"{mean['bf16 Kahan', lr]:.3g}, nearest {mean['bf16 nearest', lr]:.3g}"
        for lr in lrs)
    story = [f"The regression MLP trained by AdamW (weight_decay 0.01, {steps} steps, "
             f"{len(seeds)} seeds per learning rate) with float32 weights and moments, and "
             f"with bfloat16 weights and moments (float32 gradients; the update computed in "
             f"float32, each stored value rounded once). Held-out MSE, mean over seeds: "
             f"{rows}. bfloat16 keeps 8 bits: for |w| in [0.25, 0.5) its spacing is 2^-9 = 0.002, so "
             f"rounded to nearest an AdamW step of about lr is lost whenever it is under "
             f"half of that, and the smaller the lr the more of training is lost: nearest "
             f"ends {worst_nearest:.1f}x float32's mean MSE at lr {lrs[0]:g}. Stochastic "
             f"rounding (unbiased: the step is kept on average) lands within float32's "
             f"seed-to-seed range at {inside['bf16 stochastic']} of {len(lrs)} learning "
             f"rates, a bfloat16 Kahan compensation (2 more bytes per weight, no random "
             f"bits) at {inside['bf16 Kahan']} (its own bfloat16 rounding loses a little "
             f"each step: it sits at the top of the range)."]

    def plot(ax):
        lr = lrs[0]
        for variant in variants:
            curve = curves[variant, lr]
            ax.semilogy(np.arange(len(curve)) * 50, curve,
                        label=f"{variant}: held-out {mean[variant, lr]:.3g}")
        ax.set(title=f"7. AdamW lr={lr:g}, bf16 storage: training loss", xlabel="step",
               ylabel="MSE")
        ax.legend()
    return numbers, plot, story


def schedule_free(quick):
    """8. Schedule-free AdamW against AdamW with a cosine schedule.

    The same task, the best lr of each, and what each has at every tenth of the run."""
    train, test = regression_task(5)
    steps = 400 if quick else 2000
    lrs = (3e-3, 1e-2) if quick else (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    checkpoints = [steps * k // 10 for k in range(1, 11)]   # held-out MSE every 10%
    x, y = train
    runs = {}
    for method in ("AdamW + cosine", "schedule-free AdamW"):
        for lr in lrs:
            net = he_mlp(8, 32, seed=11)
            if method == "AdamW + cosine":
                opt = optim.AdamW(net.params, lr=lr, weight_decay=1e-4)
                sched = lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
            else:
                opt = optim.AdamWScheduleFree(net.params, lr=lr, weight_decay=1e-4,
                                              warmup_steps=steps // 20)
                sched = None
            held_out = []
            for t, idx in enumerate(batches(len(x), 64, steps, seed=6), start=1):
                opt.step(net.loss_and_grads(x[idx], y[idx])[1])
                if sched is not None:
                    sched.step()
                if t in checkpoints:
                    if sched is None:
                        opt.eval()                   # the average x, to evaluate with
                    held_out.append(net.loss(*test))
                    if sched is None:
                        opt.train()
            runs[(method, lr)] = held_out
    best = {m: min((r for r in runs.items() if r[0][0] == m), key=lambda r: r[1][-1])
            for m in ("AdamW + cosine", "schedule-free AdamW")}
    numbers = {"final": {m: r[1][-1] for m, r in best.items()},
               "best_lr": {m: r[0][1] for m, r in best.items()},
               "halfway": {m: r[1][4] for m, r in best.items()},
               "curves": {m: r[1] for m, r in best.items()}, "steps": steps,
               "untrained": he_mlp(8, 32, seed=11).loss(*test)}
    cosine, free = "AdamW + cosine", "schedule-free AdamW"
    story = [f"A {steps}-step run on the teacher-MLP regression (label noise 0.1: held-out MSE "
             f"cannot go below 0.01), each method at its best of lr {', '.join(map(str, lrs))}"
             f" (weight_decay=1e-4; schedule-free warms up over the first 5%): AdamW with a "
             f"cosine schedule over the run ends at held-out MSE "
             f"{numbers['final'][cosine]:.3g} (lr {numbers['best_lr'][cosine]}), schedule-free "
             f"AdamW's average x at {numbers['final'][free]:.3g} (lr "
             f"{numbers['best_lr'][free]}), from {numbers['untrained']:.3g} untrained. Halfway, "
             f"the cosine run (its lr still at half its peak) stands at "
             f"{numbers['halfway'][cosine]:.3g}, schedule-free at "
             f"{numbers['halfway'][free]:.3g}. Only the cosine run had to be told the run's "
             f"length in advance; schedule-free's x is the weights to evaluate whenever "
             f"training stops (opt.eval() swaps them in, opt.train() back)."]

    def plot(ax):
        for method, curve in numbers["curves"].items():
            ax.plot(checkpoints, curve, marker="o",
                    label=f"{method} (lr {numbers['best_lr'][method]})")
        ax.set(title="8. schedule-free AdamW vs AdamW + cosine", xlabel="step",
               ylabel="held-out MSE", yscale="log")
        ax.legend()
    return numbers, plot, story


def load_digits():
    """scikit-learn's bundled 8x8 digits (1797 images of 64 pixels, no download): pixels
    scaled to [0, 1] and centred on the training mean; a fixed split, 1297 to train and 500
    held out."""
    from sklearn.datasets import load_digits as sklearn_digits   # the demo extra
    digits = sklearn_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x, labels = digits.data[order] / 16.0, digits.target[order]
    x = x - x[:1297].mean(axis=0)
    return (x[:1297], labels[:1297]), (x[1297:], labels[1297:])


DIGITS_RUNS = {   # name -> (init, decay, weight_decay): Adam, lr 3e-3, the same coefficient
    "zero init": ("zero", "decoupled", 0.0),
    "He, no decay": ("he", "decoupled", 0.0),
    "He, decoupled": ("he", "decoupled", 0.1),
    "He, L2": ("he", "l2", 0.1),
    "He, L1": ("he", "l1", 0.1),
}


def digits(quick):
    """9. Real data: an MLP on scikit-learn's digits, from zero and He init, with each decay."""
    (x, labels), (x_test, labels_test) = load_digits()
    epochs, seeds = (10, (0,)) if quick else (30, (0, 1, 2))
    results = {name: [] for name in DIGITS_RUNS}
    trained = {}
    for name, (start, decay, wd) in DIGITS_RUNS.items():
        for seed in seeds:
            net = Classifier(64, 128, 10)
            if start == "he":
                he_init(net, seed)
            initial = np.concatenate([net.params[0].ravel(), net.params[2].ravel()])
            opt = optim.Adam(net.params, lr=3e-3, weight_decay=wd, decay=decay)
            shuffler = np.random.default_rng(seed + 10)
            for _ in range(epochs):
                shuffled = shuffler.permutation(len(x))
                for i in range(0, len(x), 32):
                    idx = shuffled[i:i + 32]
                    opt.step(net.loss_and_grads(x[idx], labels[idx])[1])
            weights = np.concatenate([net.params[0].ravel(), net.params[2].ravel()])
            results[name].append(dict(
                held_out=net.accuracy(x_test, labels_test), train=net.accuracy(x, labels),
                max_abs=float(np.abs(weights).max()), rms=float(np.sqrt(np.mean(weights ** 2))),
                exact_zeros=float(np.mean(weights == 0)), dead=net.dead_fraction(x)))
            if seed == seeds[0]:
                trained[name] = weights
                if name == "He, no decay":
                    trained["He, at init"] = initial
    numbers = {name: {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
               for name, runs in results.items()}
    numbers["init_max_abs_he"] = float(np.abs(trained["He, at init"]).max())
    numbers["init_rms_he"] = float(np.sqrt(np.mean(trained["He, at init"] ** 2)))
    n = numbers
    seeds_said = (f"the mean of {len(seeds)} seeds" if len(seeds) > 1 else "one seed")
    story = [f"An MLP 64-128-10 trained by Adam (lr 3e-3, {epochs} epochs of batches of 32) on "
             f"1297 of scikit-learn's 8x8 digits, held-out accuracy on the other 500 "
             f"({seeds_said}): from zero init {n['zero init']['held_out']:.1%} (chance: every "
             f"weight stays 0 and every hidden ReLU is dead, "
             f"{n['zero init']['dead']:.0%}, so only the output biases learn); from He init "
             f"{n['He, no decay']['held_out']:.1%}.",
             f"With the same weight_decay=0.1: decoupled {n['He, decoupled']['held_out']:.1%}, "
             f"L2 {n['He, L2']['held_out']:.1%} (Adam divides the L2 term by the gradient's "
             f"rms, as in experiment 3: it underfits, training accuracy "
             f"{n['He, L2']['train']:.1%}), L1 {n['He, L1']['held_out']:.1%} with "
             f"{n['He, L1']['exact_zeros']:.0%} of the weights exactly 0.",
             f"Small trained weights are the normal state of a trained net: He's init sets "
             f"their scale (rms {n['init_rms_he']:.2g}, largest |w| "
             f"{n['init_max_abs_he']:.2g}) and training keeps them of that order: rms "
             f"{n['He, no decay']['rms']:.2g} and largest {n['He, no decay']['max_abs']:.2g} "
             f"without decay, {n['He, decoupled']['rms']:.2g} and "
             f"{n['He, decoupled']['max_abs']:.2g} with decoupled decay, "
             f"{n['He, L2']['rms']:.2g} and {n['He, L2']['max_abs']:.2g} with L2 (the "
             f"underfitting one). Dead ReLUs (hidden units no training example activates) "
             f"after training: zero init {n['zero init']['dead']:.0%}; He-initialised, "
             + ", ".join(f"{name.split(', ')[1]} {n[name]['dead']:.0%}"
                         for name in DIGITS_RUNS if name.startswith("He"))
             + "."]

    def plot(ax):
        bins = np.linspace(-1.2, 1.2, 97)
        for name in ("He, at init", "He, no decay", "He, decoupled", "He, L2", "He, L1"):
            label = name if name == "He, at init" else \
                f"{name}: {numbers[name]['held_out']:.1%} held out (mean)"
            ax.hist(trained[name], bins=bins, histtype="step", label=label)
        ax.set(title="9. digits MLP: trained weights by decay (wd 0.1, Adam)", xlabel="weight",
               ylabel="count", yscale="log")
        ax.legend(fontsize=7)
    return numbers, plot, story


STATE_RUNS = ("float32 state", "8-bit state", "bfloat16 weights and state")


def _storage_run(variant, params, steps, grads_of, lr, seed, bf16):
    """AdamW (weight_decay 0.01) over `steps` batches on float32 `params` (replaced, for the
    bfloat16 run, by bfloat16 copies rounded stochastically), its state as `variant` says
    (8-bit: every tensor, min_8bit_size 0, harsher than bitsandbytes' 4096); grads_of(batch,
    float32 params) gives the gradients. Returns the trained params in float32."""
    if variant == STATE_RUNS[2]:
        params = [p.astype(bf16) for p in params]
    opt = optim.AdamW(params, lr=lr, weight_decay=0.01, rng=seed,
                      state_dtype="8bit" if variant == STATE_RUNS[1] else None)
    opt.min_8bit_size = 0
    for batch in steps:
        wide = [p.astype(np.float32) for p in params] if variant == STATE_RUNS[2] else params
        opt.step(grads_of(batch, wide))
    return [p.astype(np.float32) for p in params]


def eight_bit_state(quick):
    """10. Optimiser state in 8 bits, and weights and state in bfloat16: on the digits and on
    a longer synthetic task (a teacher's classes) they train as float32 state does."""
    try:
        import ml_dtypes
        bf16 = np.dtype(ml_dtypes.bfloat16)
        runs = STATE_RUNS
    except ImportError:                     # without ml_dtypes: no bfloat16 run
        bf16, runs = None, STATE_RUNS[:2]
    (x, labels), (x_test, labels_test) = load_digits()
    x, x_test = x.astype(np.float32), x_test.astype(np.float32)
    epochs, seeds = (5, range(2)) if quick else (30, range(5))
    accuracy = {v: [] for v in runs}
    for seed in seeds:
        start = he_init(Classifier(64, 128, 10, np.float32), seed)
        shuffler = np.random.default_rng(seed + 10)
        order = [shuffler.permutation(len(x)) for _ in range(epochs)]
        steps = [o[i:i + 32] for o in order for i in range(0, len(x), 32)]
        net = Classifier(64, 128, 10, np.float32)

        def digits_grads(idx, params):
            net.params = params
            return net.loss_and_grads(x[idx], labels[idx])[1]
        for variant in runs:
            net.params = _storage_run(variant, [p.copy() for p in start.params], steps,
                                      digits_grads, 3e-3, seed, bf16)
            accuracy[variant].append(net.accuracy(x_test, labels_test))
    # the longer synthetic task: a teacher's 10 classes, 16 inputs, AdamW lr 1e-3
    (x, labels), (x_test, labels_test) = teacher_classes(4)
    synthetic = {v: [] for v in runs}
    synthetic_steps = 1000 if quick else 20000
    for seed in seeds:
        start = he_init(Classifier(16, 128, 10, np.float32), seed + 20)
        student = Classifier(16, 128, 10, np.float32)

        def synthetic_grads(idx, params):
            student.params = params
            return student.loss_and_grads(x[idx], labels[idx])[1]
        for variant in runs:
            student.params = _storage_run(variant, [p.copy() for p in start.params],
                                          batches(len(x), 64, synthetic_steps, seed),
                                          synthetic_grads, 1e-3, seed, bf16)
            synthetic[variant].append(student.accuracy(x_test, labels_test))
    numbers = {v: dict(held_out=float(np.mean(accuracy[v])),
                       held_out_sd=float(np.std(accuracy[v])),
                       synthetic=float(np.mean(synthetic[v])),
                       synthetic_sd=float(np.std(synthetic[v]))) for v in runs}
    f32, q8 = numbers[STATE_RUNS[0]], numbers[STATE_RUNS[1]]
    story = [f"The digits MLP (64-128-10, AdamW lr 3e-3, weight_decay 0.01, {epochs} epochs of "
             f"batches of 32, {len(seeds)} seeds) held out {f32['held_out']:.1%} "
             f"(sd {f32['held_out_sd']:.1%}) with float32 state and {q8['held_out']:.1%} "
             f"(sd {q8['held_out_sd']:.1%}) with every state tensor in 8 bits (a quarter of "
             f"the state's bytes)"
             + (f", {numbers[STATE_RUNS[2]]['held_out']:.1%} with weights and state in "
                f"bfloat16 (stochastic rounding; half the bytes of everything)" if bf16 else "")
             + ".",
             f"A teacher network's 10 classes of 16 Gaussian inputs (5% of the training labels "
             f"random; AdamW lr 1e-3, {synthetic_steps} steps of 64): held out "
             f"{f32['synthetic']:.1%} (sd {f32['synthetic_sd']:.1%}) with float32 state, "
             f"{q8['synthetic']:.1%} (sd {q8['synthetic_sd']:.1%}) with 8-bit state"
             + (f", {numbers[STATE_RUNS[2]]['synthetic']:.1%} in bfloat16" if bf16 else "")
             + " (the mean of the seeds)."]

    def plot(ax):
        for k, variant in enumerate(runs):
            ax.plot([k] * len(accuracy[variant]), accuracy[variant], "o", alpha=0.6)
            ax.plot([k - 0.2, k + 0.2], [numbers[variant]["held_out"]] * 2, "k-")
        ax.set_xticks(range(len(runs)), [v.replace(" and ", "\nand ") for v in runs])
        ax.set(title="10. digits: held-out accuracy by storage (AdamW; a dot a seed)",
               ylabel="held-out accuracy")
    return numbers, plot, story


def noisy_labels(labels, fraction, seed=99):
    """`labels` with `fraction` of them replaced by random classes (fixed by `seed`): a
    training set whose loss cannot reach 0, so that gradients stay noisy to the end."""
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    flip = rng.random(len(noisy)) < fraction
    noisy[flip] = rng.integers(0, 10, int(flip.sum()))
    return noisy


EQUILIBRIUM_RUNS = {   # name -> (lr, weight_decay of W1, momentum): the classes' own rules
    "AdamW": (1e-3, 1.0, None),          # decoupled decay
    "SGD": (0.05, 5e-3, 0.9),            # torch's SGD: L2 decay into the gradient
}


def _normed_run(name, wd, x, labels, epochs, seed, follow=None):
    """NormedClassifier (64-128-10) trained by EQUILIBRIUM_RUNS[name] with weight decay `wd`
    on W1 only (none on the output layer); with `follow`, a sequence of norms, W1 is
    rescaled to follow[k] after step k (which the loss cannot see: it is scale-invariant).
    Returns the net and, per step, W1's norm, angular update, the loss gradient's norm at
    unit weight norm, and the update's norm (its step statistics)."""
    lr, _, momentum = EQUILIBRIUM_RUNS[name]
    net = he_init(NormedClassifier(64, 128, 10), seed)
    groups = [{"params": [net.params[0]], "weight_decay": wd},
              {"params": net.params[1:], "weight_decay": 0.0}]
    opt = (optim.AdamW(groups, lr=lr) if momentum is None
           else optim.SGD(groups, lr=lr, momentum=momentum))
    opt.track_stats = True
    shuffler = np.random.default_rng(seed + 10)
    norms, angles, grad_norms, updates = [], [], [], []
    for _ in range(epochs):
        order = shuffler.permutation(len(x))
        for i in range(0, len(x), 32):
            grads = net.loss_and_grads(x[order[i:i + 32]], labels[order[i:i + 32]])[1]
            # the loss gradient's norm at unit weight norm (SGD's equilibrium needs it)
            grad_norms.append(float(np.linalg.norm(grads[0]) * np.linalg.norm(net.params[0])))
            opt.step(grads)
            angles.append(float(opt.last_stats.angular_update[0]))
            updates.append(float(opt.last_stats.update_norm[0]))
            if follow is not None:
                net.params[0] *= follow[len(angles) - 1] / np.linalg.norm(net.params[0])
            norms.append(float(np.linalg.norm(net.params[0])))
    return net, np.array(norms), np.array(angles), np.array(grad_norms), np.array(updates)


def rotational_equilibrium_demo(quick):
    """11. Weights followed by a normalisation layer: decay sets their norm and the angle each
    step turns them (the rotational equilibrium), so it acts through the effective learning
    rate; on the digits with noisy labels."""
    (x, labels), (x_test, labels_test) = load_digits()
    noisy = noisy_labels(labels, 0.2)
    epochs, seeds = (25, (0,)) if quick else (100, (0, 1, 2))
    numbers, curves = {}, {}
    for name, (lr, wd, momentum) in EQUILIBRIUM_RUNS.items():
        runs = {"decay": [], "no decay": [], "no decay, norm of the decay run": []}
        for seed in seeds:
            net, norms, angles, grad_norms, updates = _normed_run(name, wd, x, noisy, epochs,
                                                                  seed)
            plain = _normed_run(name, 0.0, x, noisy, epochs, seed)
            held = _normed_run(name, 0.0, x, noisy, epochs, seed, follow=norms)
            late = slice(3 * len(norms) // 4, None)          # the last quarter of the run
            for key, (trained, n, a, g, u) in (
                    ("decay", (net, norms, angles, grad_norms, updates)), ("no decay", plain),
                    ("no decay, norm of the decay run", held)):
                direction = trained.params[0] / np.linalg.norm(trained.params[0])
                runs[key].append(dict(
                    held_out=trained.accuracy(x_test, labels_test), norm=float(n[-1]),
                    angle=float(np.mean(a[late])), update=float(np.mean(u[late])),
                    grad_norm=float(np.sqrt(np.mean(g[late] ** 2))), direction=direction))
            if seed == seeds[0]:
                curves[name] = {"decay": angles, "no decay": plain[2]}
        if momentum is None:
            eq = rotational_equilibrium("adamw", lr, wd, numel=64 * 128)
        else:
            eq = rotational_equilibrium("sgd", lr, wd, momentum=momentum, grad_norm=float(
                np.mean([r["grad_norm"] for r in runs["decay"]])))
        out = {key: {k: float(np.mean([r[k] for r in rs]))
                     for k in ("held_out", "norm", "angle", "update")}
               for key, rs in runs.items()}
        # how far apart the final directions of W1 are, in radians, from the decay run's
        for key in ("no decay", "no decay, norm of the decay run"):
            out[key]["apart"] = float(np.mean([
                np.arccos(np.clip(np.sum(a["direction"] * b["direction"]), -1, 1))
                for a, b in zip(runs["decay"], runs[key])]))
        # the update's size the model assumes: AdamW's, its per-element rms
        # sqrt((1 - beta1)/(1 + beta1)) * lr for gradients independent from step to step
        out["predicted"] = {"angle": eq.angular_update, "norm": eq.norm,
                            "update": lr * math.sqrt(64 * 128 * 0.1 / 1.9)
                            if momentum is None else None}
        out["start_norm"] = float(np.linalg.norm(
            he_init(NormedClassifier(64, 128, 10), seeds[0]).params[0]))
        numbers[name] = out
    story = []
    for name, (lr, wd, momentum) in EQUILIBRIUM_RUNS.items():
        n = numbers[name]
        d, p, h = n["decay"], n["no decay"], n["no decay, norm of the decay run"]
        rule = (f"AdamW (lr {lr}, weight_decay {wd})" if momentum is None else
                f"SGD (lr {lr}, momentum {momentum}, weight_decay {wd} as L2)")
        story.append(
            f"{rule} on the hidden weights W1 of a 64-128-10 net whose hidden layer is "
            f"normalised per example (the loss cannot see W1's norm), digits with 20% of the "
            f"training labels random, {epochs} epochs of batches of 32: W1's norm settles at "
            f"{d['norm']:.3g} (predicted {n['predicted']['norm']:.3g}) and each step turns it "
            f"by {d['angle']:.3g} rad in the last quarter (predicted "
            f"{n['predicted']['angle']:.3g}, rotational_equilibrium). Without decay the norm "
            f"grows from {n['start_norm']:.3g} to {p['norm']:.3g} and the angle falls to "
            f"{p['angle']:.2g} rad: the effective learning rate decays by itself. Held out: "
            f"{d['held_out']:.1%} with decay, {p['held_out']:.1%} without; without decay but "
            f"with W1 rescaled after each step to the decay run's norm (no decay at all, and a "
            f"rescaling the loss cannot see), {h['held_out']:.1%}, its final W1 "
            f"{h['apart']:.2g} rad from the decay run's (plain no decay: {p['apart']:.2g} "
            f"rad). "
            + ("Holding the decay run's norm, without any decay, brings the run near the "
               "decay run (nearer in accuracy and in direction than plain no decay): the "
               "difference decay makes here is the norm, that is the effective learning "
               "rate."
               if abs(h["held_out"] - d["held_out"]) < abs(p["held_out"] - d["held_out"])
               and h["apart"] < p["apart"] else
               "Holding the decay run's norm did not reproduce the decay run here: the "
               "norm is not all that decay changed."))
    for name in EQUILIBRIUM_RUNS:
        n = numbers[name]
        n["ratio"] = {k: n["decay"][k] / n["predicted"][k] for k in ("angle", "norm")}
    adamw = numbers["AdamW"]
    adamw["ratio"]["update"] = adamw["decay"]["update"] / adamw["predicted"]["update"]
    story.append(
        "Measured over predicted: " + "; ".join(
            f"{name} angle {numbers[name]['ratio']['angle']:.2f}, norm "
            f"{numbers[name]['ratio']['norm']:.2f}" for name in EQUILIBRIUM_RUNS)
        + f". AdamW's steps have {adamw['ratio']['update']:.2f} times the size the model "
        f"assumes (an rms of sqrt((1 - beta1)/(1 + beta1)) * lr per element)"
        + (", so where its prediction misses it is by the steps' direction: the model's "
           "steps are a random walk, real gradients keep a direction over many steps, which "
           "grows the norm further and turns it less per step. SGD's prediction takes the "
           "measured gradient norm."
           if abs(adamw["ratio"]["update"] - 1) < 0.2 and abs(adamw["ratio"]["angle"] - 1) > 0.1
           else "."))

    def plot(ax):
        for name in EQUILIBRIUM_RUNS:
            line, = ax.plot(curves[name]["decay"], "-", lw=0.6, label=f"{name}, decay")
            ax.plot(curves[name]["no decay"], ":", lw=0.6, color=line.get_color(),
                    label=f"{name}, no decay")
            ax.axhline(numbers[name]["predicted"]["angle"], color=line.get_color(), lw=1.2,
                       ls="--", label=f"{name}, predicted equilibrium")
        ax.set(title="11. angle W1 turns per step, with and without decay",
               xlabel="step", ylabel="angular update (rad)", yscale="log")
        ax.legend(fontsize=7)
    return numbers, plot, story


TIMESCALE_SIZES = (324, 1297)                  # a quarter of the digits' training set, all
TIMESCALE_DECAYS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def _timescale_run(x, labels, x_test, labels_test, size, wd, epochs, seed, lr):
    """A 64-128-10 Classifier trained by AdamW (lr, weight_decay wd) for `epochs` epochs of
    batches of 32 on the first `size` training examples of a fixed shuffle; held out."""
    net = he_init(Classifier(64, 128, 10), seed)
    opt = optim.AdamW(net.params, lr=lr, weight_decay=wd)
    subset = np.random.default_rng(seed + 50).permutation(len(x))[:size]
    shuffler = np.random.default_rng(seed + 10)
    for _ in range(epochs):
        order = subset[shuffler.permutation(size)]
        for i in range(0, size, 32):
            opt.step(net.loss_and_grads(x[order[i:i + 32]], labels[order[i:i + 32]])[1])
    return net.accuracy(x_test, labels_test)


def timescale_across_sizes(quick):
    """12. The same timescale across dataset sizes: the weight decay tuned on a quarter of the
    digits, carried to all of them as the same coefficient or as the same timescale in
    epochs."""
    (x, labels), (x_test, labels_test) = load_digits()
    noisy = noisy_labels(labels, 0.3)
    lr = 3e-3
    epochs, seeds, decays = ((30, (0,), TIMESCALE_DECAYS[1::2]) if quick
                             else (100, (0, 1, 2, 3, 4), TIMESCALE_DECAYS))
    accuracy = {size: {wd: float(np.mean([
        _timescale_run(x, noisy, x_test, labels_test, size, wd, epochs, seed, lr)
        for seed in seeds])) for wd in decays} for size in TIMESCALE_SIZES}
    small, large = TIMESCALE_SIZES
    best = {size: max(accuracy[size], key=accuracy[size].get) for size in TIMESCALE_SIZES}
    tau = {size: {wd: timescale(lr, wd, batch_size=32, dataset_size=size).epochs
                  for wd in decays} for size in TIMESCALE_SIZES}
    # the small set's best, carried over: the same wd, or the wd of the same epochs
    same_tau = weight_decay_for_timescale(lr, epochs=tau[small][best[small]], batch_size=32,
                                          dataset_size=large)
    carried = {"same weight_decay": best[small], "same timescale": same_tau}
    carried_accuracy = {how: float(np.mean([
        _timescale_run(x, noisy, x_test, labels_test, large, wd, epochs, seed, lr)
        for seed in seeds])) for how, wd in carried.items()}
    # the timescales whose accuracy is within half a point of the best, per size
    near = {size: [tau[size][wd] for wd in decays
                   if accuracy[size][wd] >= accuracy[size][best[size]] - 0.005]
            for size in TIMESCALE_SIZES}
    numbers = {"accuracy": accuracy, "best": best, "carried": carried, "near_best": near,
               "carried_accuracy": carried_accuracy, "tau_epochs": tau,
               "best_tau_epochs": {size: tau[size][best[size]] for size in TIMESCALE_SIZES}}
    seeds_said = f"the mean of {len(seeds)} seeds" if len(seeds) > 1 else "one seed"
    story = [f"AdamW (lr {lr}, {epochs} epochs of batches of 32, {seeds_said}) on {small} "
             f"and on {large} digits with 30% of the training labels random, weight_decay from "
             f"{decays[0]} to {decays[-1]}: held-out accuracy is best at weight_decay "
             f"{best[small]} on {small} examples (timescale "
             f"{numbers['best_tau_epochs'][small]:.3g} epochs, "
             f"{accuracy[small][best[small]]:.1%}) and at {best[large]} on {large} "
             f"({numbers['best_tau_epochs'][large]:.3g} epochs, "
             f"{accuracy[large][best[large]]:.1%}); within half a point of the best: "
             + ", ".join(f"{min(near[size]):.3g}-{max(near[size]):.3g} epochs on {size}"
                         for size in TIMESCALE_SIZES) + ".",
             f"Carrying the small set's tuning to the large one: the same weight_decay "
             f"({best[small]}) holds out {carried_accuracy['same weight_decay']:.1%}; the same "
             f"timescale in epochs (weight_decay {same_tau:.3g}, weight_decay_for_timescale) "
             f"{carried_accuracy['same timescale']:.1%}; the large set's own best "
             f"{accuracy[large][best[large]]:.1%}. "
             + ("Here the same coefficient carried over at least as well as the same "
                "timescale: both sets trained for the same number of epochs, and the "
                "timescale rule is about runs whose length in epochs changes with the data "
                "(Wang & Aitchison's models train larger datasets for fewer epochs)."
                if carried_accuracy["same weight_decay"] >= carried_accuracy["same timescale"]
                else "Here the same timescale carried over better than the same "
                     "coefficient, as Wang & Aitchison found for larger models and data.")]

    def plot(ax):
        for size in TIMESCALE_SIZES:
            ax.plot([tau[size][wd] for wd in decays], [accuracy[size][wd] for wd in decays],
                    "o-", label=f"{size} examples")
        ax.set(title="12. held-out accuracy by AdamW's timescale 1/(lr*wd)", xscale="log",
               xlabel="timescale (epochs)", ylabel="held-out accuracy")
        ax.legend()
    return numbers, plot, story


EXPERIMENTS = {1: zero_init, 2: activation_scale, 3: decay_vs_l2, 4: identity_rnn,
               5: l1_zeros, 6: decay_over_a_run, 7: bfloat16_training, 8: schedule_free,
               9: digits, 10: eight_bit_state, 11: rotational_equilibrium_demo,
               12: timescale_across_sizes}
# what an experiment needs beyond pywd and NumPy (the demo extra), as (module, package):
# skipped, saying so, without it
NEEDS = {9: ("sklearn", "scikit-learn"), 10: ("sklearn", "scikit-learn"),
         11: ("sklearn", "scikit-learn"), 12: ("sklearn", "scikit-learn")}


QUICK_NOTE = ("--quick: smaller and shorter runs than the full demo (a sixth to a quarter of "
              "the training steps, 20 layers of 256 instead of 50 of 512, sequences of 30 "
              "instead of 60), so the numbers differ from docs/demo.md's, which come from the "
              "full run; the conclusions are the same.")


def title(number):
    """Experiment `number`'s title: the first paragraph of its docstring, on one line."""
    first = EXPERIMENTS[number].__doc__.split("\n\n")[0]
    return " ".join(first.split()).split(" ", 1)[1]             # without its "N."


def run(quick=False, only=None, out=None, echo=print):
    """Runs the experiments (all, or `only`), prints what each found, saves PNGs into `out`
    when given and matplotlib is installed; returns {number: numbers}."""
    results = {}
    plotter = _pyplot() if out else None
    if quick:
        echo(textwrap.fill(QUICK_NOTE, 90))
    if out and plotter is None:
        echo("matplotlib is not installed (pip install 'pywd[demo]'): no pictures")
    for number, experiment in EXPERIMENTS.items():
        if only is not None and number != only:
            continue
        if number in NEEDS and importlib.util.find_spec(NEEDS[number][0]) is None:
            echo(f"{number}. skipped: {NEEDS[number][1]} is not installed (pip install "
                 f"'pywd[demo]')")
            continue
        numbers, plot, story = experiment(quick)
        results[number] = numbers
        echo(f"{number}. {title(number)}")
        for sentence in story:
            echo(textwrap.fill(sentence, 90, initial_indent="   ", subsequent_indent="   "))
        if plotter is not None:
            import os
            fig, ax = plotter.subplots(figsize=(6, 4))
            plot(ax)
            fig.tight_layout()
            path = os.path.join(out, f"demo_{number}.png")
            fig.savefig(path, dpi=100)
            plotter.close(fig)
            echo(f"   picture: {path}")
    return results


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None
