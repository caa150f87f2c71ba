"""AdEMAMix (Pagliardini et al. 2024): the reference against the paper's Algorithm 1 and its
code's warm-up schedulers, the kernel against the reference, the class and pywd.torch's
against pytorch-optimizer's AdEMAMix (installable; skipped without it)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import pywd
from pywd import _kernels, reference


def paper_step(w, g, m, v, s, t, lr, beta1, beta2, beta3, alpha, eps, wd):
    """Algorithm 1 of the paper, one scalar step, written from it (decoupled decay)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    s = beta3 * s + (1 - beta3) * g
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    w = w - lr * ((m_hat + alpha * s) / (math.sqrt(v_hat) + eps) + wd * w)
    return w, m, v, s


def paper_beta3(step, beta_end, beta_start, warmup):
    """The paper's code's linear_hl_warmup_scheduler (half-life interpolated linearly),
    without the 1e-8 its code adds to beta inside the log: bitsandbytes and pytorch-optimizer
    use the closed form without it, as pywd does (with it ln(0.9999) moves by 1e-4 of itself)."""
    def f(beta, eps=0.0):
        return math.log(0.5) / math.log(beta + eps) - 1

    def f_inv(t):
        return math.pow(0.5, 1 / (t + 1))
    if step < warmup:
        a = step / float(warmup)
        return f_inv((1.0 - a) * f(beta_start) + a * f(beta_end))
    return beta_end


def test_reference_takes_the_papers_steps():
    """Three scalar steps of Algorithm 1 (decoupled decay w -= lr*wd*w in the same step:
    the reference decays w first, w*(1 - lr*wd), then subtracts the update, which is the
    same first-order step; compared within float64 rounding)."""
    hyper = dict(lr=0.01, beta1=0.9, beta2=0.999, beta3=0.99, alpha=5.0, eps=1e-8)
    w0, grads = 0.7, [0.3, -1.2, 0.5]
    w, m, v, s = w0, 0.0, 0.0, 0.0
    arr = [np.array([x]) for x in (w0, 0.0, 0.0, 0.0)]
    for t, g in enumerate(grads, 1):
        w, m, v, s = paper_step(w, g, m, v, s, t, wd=0.0, **hyper)
        reference.ademamix(arr[0], np.array([g]), *arr[1:], step=t, weight_decay=0.0, **hyper)
        assert arr[0][0] == pytest.approx(w, rel=1e-15, abs=1e-15)
        assert [a[0] for a in arr[1:]] == pytest.approx([m, v, s], rel=1e-15)
    # decoupled decay: the paper's lr * (update + wd * w) with w the weights before the step
    w2 = np.array([w0])
    reference.ademamix(w2, np.array([0.3]), *[np.zeros(1) for _ in range(3)], step=1,
                       weight_decay=0.1, **hyper)
    want, *_ = paper_step(w0, 0.3, 0.0, 0.0, 0.0, 1, wd=0.1, **hyper)
    assert w2[0] == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("beta1, beta3, warmup", [(0.9, 0.9999, 1000), (0.5, 0.999, 7),
                                                  (0.9, 0.99, 3.5)])
def test_warmups_are_the_papers(beta1, beta3, warmup):
    """beta3_t: the paper's code, the kernel's closed form and the reference's; alpha_t
    linear from 0, then alpha."""
    for step in range(0, int(warmup * 2) + 2):
        ours = _kernels.ademamix_beta3(beta1, beta3, warmup, step)
        ref_alpha, ref_beta3 = reference.ademamix_schedules(step, 5.0, warmup, beta1, beta3,
                                                            warmup)
        assert ours == pytest.approx(paper_beta3(step, beta3, beta1, warmup), rel=1e-13)
        assert ours == pytest.approx(ref_beta3, rel=1e-14) and ours <= beta3
        assert ref_alpha == pytest.approx(5.0 * min(step / warmup, 1.0), rel=1e-15)
        assert _kernels.ademamix_alpha(5.0, warmup, step) == ref_alpha
    assert _kernels.ademamix_beta3(beta1, beta3, 0.0, 3) == beta3        # no warm-up
    assert _kernels.ademamix_alpha(5.0, 0.0, 3) == 5.0


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]),
       shapes=st.lists(st.sampled_from([(1,), (7,), (33,), (4, 9), (0,)]), min_size=1,
                       max_size=3),
       steps=st.integers(1, 4), lr=st.sampled_from([0.0, 1e-3, 0.05]),
       betas=st.sampled_from([(0.9, 0.999, 0.9999), (0.5, 0.9, 0.99), (0.0, 0.0, 0.0)]),
       alpha=st.sampled_from([0.0, 5.0, 8.0]), warm=st.sampled_from([None, 3]),
       weight_decay=st.sampled_from([0.0, 0.1]),
       decay=st.sampled_from(["l2", "decoupled", "independent", "corrected", "l1"]),
       maximize=st.booleans(), seed=st.integers(0, 99))
def test_kernel_is_the_reference(dtype, shapes, steps, lr, betas, alpha, warm, weight_decay,
                                 decay, maximize, seed):
    rng = np.random.default_rng(seed)
    w = [rng.standard_normal(s).astype(dtype) for s in shapes]
    state = [[np.zeros(s, dtype) for s in shapes] for _ in range(3)]
    w_ref, state_ref = [x.copy() for x in w], [[x.copy() for x in a] for a in state]
    t_beta3 = warm if betas[0] > 0 else None
    hyper = dict(lr=lr, beta1=betas[0], beta2=betas[1], beta3=betas[2], alpha=alpha,
                 t_alpha=warm, t_beta3=t_beta3, weight_decay=weight_decay, decay=decay,
                 maximize=maximize, max_lr=0.1 if decay in ("independent", "corrected") else None)
    for t in range(1, steps + 1):
        g = [rng.standard_normal(s).astype(dtype) for s in shapes]
        pywd.ademamix(w, g, *state, step=t, **hyper)
        reference.ademamix(w_ref, g, *state_ref, step=t, **hyper)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)
    for got, want in zip(w + sum(state, []), w_ref + sum(state_ref, [])):
        np.testing.assert_allclose(got, want, **tol)


def test_bad_input_is_refused_before_any_array_changes():
    w, g = np.ones(4), np.ones(4)
    state = [np.zeros(4) for _ in range(3)]
    cases = [(dict(betas=(0.9, 0.99)), TypeError, r"betas must be a triple"),
             (dict(betas=(0.9, 0.99, 0.999), beta3=0.5), TypeError, "not both"),
             (dict(beta3=1.0), ValueError, r"beta3 must be a finite number in \[0, 1\)"),
             (dict(alpha=-1.0), ValueError, "alpha must be a finite number >= 0"),
             (dict(t_alpha=0), ValueError, "t_alpha must be None or a number of steps > 0"),
             (dict(t_beta3=-2.0), ValueError, "t_beta3 must be a finite number >= 0"),
             (dict(t_beta3=10, beta1=0.0), ValueError, "needs beta1 and beta3 above 0"),
             (dict(t_alpha="10"), TypeError, "t_alpha must be a real number")]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            pywd.ademamix(w, g, *state, step=1, lr=0.1, **kwargs)
        assert (w == 1).all() and all((s == 0).all() for s in state)


def test_class_matches_the_function_and_resumes_from_its_state_dict():
    rng = np.random.default_rng(1)
    w = [rng.standard_normal((5, 3)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(x.shape) for x in w] for _ in range(6)]
    hyper = dict(lr=0.01, betas=(0.8, 0.99, 0.995), alpha=3.0, t_alpha=4, t_beta3=4,
                 weight_decay=0.05)
    twin, state = [x.copy() for x in w], [[np.zeros_like(x) for x in w] for _ in range(3)]
    opt = pywd.optim.AdEMAMix([x.copy() for x in w], **hyper)
    for t, g in enumerate(grads[:3], 1):
        opt.step(g)
        pywd.ademamix(twin, g, *state, step=t, **hyper)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(opt.param_groups[0]["params"], twin))
    saved = {k: np.copy(v) for k, v in opt.state_dict().items()}
    resumed = pywd.optim.AdEMAMix([x.copy() for x in opt.param_groups[0]["params"]], **hyper)
    resumed.load_state_dict(saved)
    for t, g in enumerate(grads[3:], 4):
        opt.step(g)
        resumed.step(g)
        pywd.ademamix(twin, g, *state, step=t, **hyper)
    for a, b, c in zip(opt.param_groups[0]["params"], resumed.param_groups[0]["params"], twin):
        assert a.tobytes() == b.tobytes() == c.tobytes()


@pytest.mark.parametrize("decouple", [True, False])
@pytest.mark.parametrize("warmup", [None, 5])
def test_torch_class_matches_pytorch_optimizer(decouple, warmup):
    """pywd.torch.AdEMAMix against pytorch-optimizer's AdEMAMix, float64, 20 steps (its one
    warm-up length t_alpha_beta3 is our t_alpha and t_beta3): within 1e-12."""
    torch = pytest.importorskip("torch")
    peer = pytest.importorskip("pytorch_optimizer")
    import pywd.torch as pt
    gen = torch.Generator().manual_seed(0)
    shapes = [(6, 4), (4,), (3, 3, 2)]
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    grads = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
             for _ in range(20)]
    ours = [x.clone().requires_grad_() for x in start]
    theirs = [x.clone().requires_grad_() for x in start]
    common = dict(lr=0.01, betas=(0.9, 0.99, 0.999), alpha=4.0, eps=1e-8, weight_decay=0.05)
    mine = pt.AdEMAMix(ours, t_alpha=warmup, t_beta3=warmup,
                       decay="decoupled" if decouple else "l2", **common)
    other = peer.AdEMAMix(theirs, t_alpha_beta3=warmup, weight_decouple=decouple, **common)
    for g in grads:
        for p, q, x in zip(ours, theirs, g):
            p.grad, q.grad = x.clone(), x.clone()
        mine.step()
        other.step()
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-12, atol=1e-12)
    slow = mine.state[ours[0]]["exp_avg_slow"]
    torch.testing.assert_close(slow, other.state[theirs[0]]["exp_avg_slow"], rtol=1e-12,
                               atol=1e-12)
