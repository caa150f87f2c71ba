"""Tiny NumPy networks with hand-written backward passes, for the demo.

Weights follow torch's (out, in) layout. Matrix products go through np.einsum without BLAS so
that every output element is computed by the same loop: units that start equal then stay equal
to the last bit, which experiment 1 shows.
"""
import numpy as np


def mm(a, b):
    """a @ b with one summation loop per output element (no BLAS blocking)."""
    return np.einsum("ij,jk->ik", a, b, optimize=False)


class MLP:
    """x -> act(x W1^T + b1) -> h W2^T + b2, mean squared error against y."""

    def __init__(self, n_in, n_hidden, n_out, dtype=np.float64):
        self.params = [np.zeros((n_hidden, n_in), dtype), np.zeros(n_hidden, dtype),
                       np.zeros((n_out, n_hidden), dtype), np.zeros(n_out, dtype)]

    def loss_and_grads(self, x, y):
        w1, b1, w2, b2 = self.params
        pre = mm(x, w1.T) + b1
        h = np.maximum(pre, 0)
        out = mm(h, w2.T) + b2
        err = out - y
        loss = float(np.mean(err ** 2))
        d_out = 2 * err / err.size
        d_h = mm(d_out, w2) * (pre > 0)
        grads = [mm(d_h.T, x), d_h.sum(0), mm(d_out.T, h), d_out.sum(0)]
        return loss, grads

    def loss(self, x, y):
        return self.loss_and_grads(x, y)[0]


class ReluRNN:
    """h_t = relu(W_hh h_{t-1} + W_xh x_t + b), prediction w_out . h_T + b_out (Le, Jaitly &
    Hinton 2015), mean squared error; backward through time returns the gradient norm at
    every step as well."""

    def __init__(self, n_in, n_hidden, dtype=np.float64):
        self.params = [np.zeros((n_hidden, n_hidden), dtype), np.zeros((n_hidden, n_in), dtype),
                       np.zeros(n_hidden, dtype), np.zeros((1, n_hidden), dtype),
                       np.zeros(1, dtype)]

    def loss_and_grads(self, x, y):
        """x: (batch, time, n_in), y: (batch,). Returns loss, grads, |dL/dh_t| per t."""
        w_hh, w_xh, b, w_out, b_out = self.params
        batch, steps, _ = x.shape
        hs, pres = [np.zeros((batch, w_hh.shape[0]), w_hh.dtype)], []
        for t in range(steps):
            pre = hs[-1] @ w_hh.T + x[:, t] @ w_xh.T + b
            pres.append(pre)
            hs.append(np.maximum(pre, 0))
        out = (hs[-1] @ w_out.T)[:, 0] + b_out[0]
        err = out - y
        loss = float(np.mean(err ** 2))
        d_out = (2 * err / batch)[:, None]
        grads = [np.zeros_like(p) for p in self.params]
        grads[3] = d_out.T @ hs[-1]
        grads[4] = d_out.sum(0)
        d_h = d_out @ w_out
        norms = []
        for t in reversed(range(steps)):
            norms.append(float(np.linalg.norm(d_h)))
            d_pre = d_h * (pres[t] > 0)
            grads[0] += d_pre.T @ hs[t]
            grads[1] += d_pre.T @ x[:, t]
            grads[2] += d_pre.sum(0)
            d_h = d_pre @ w_hh
        return loss, grads, norms[::-1]


def softmax_cross_entropy(logits, labels):
    """The mean cross-entropy of softmax(logits) against integer labels, and its gradient
    with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(-np.mean(np.log(p[rows, labels])))
    p[rows, labels] -= 1
    p /= len(labels)
    return loss, p


class Classifier:
    """x -> relu(x W1^T + b1) -> logits h W2^T + b2, softmax cross-entropy against integer
    labels (products by BLAS: no symmetry claim rests on this net)."""

    def __init__(self, n_in, n_hidden, n_classes, dtype=np.float64):
        self.params = [np.zeros((n_hidden, n_in), dtype), np.zeros(n_hidden, dtype),
                       np.zeros((n_classes, n_hidden), dtype), np.zeros(n_classes, dtype)]

    def forward(self, x):
        """(hidden pre-activations, hidden activations, logits)."""
        w1, b1, w2, b2 = self.params
        pre = x @ w1.T + b1
        h = np.maximum(pre, 0)
        return pre, h, h @ w2.T + b2

    def loss_and_grads(self, x, labels):
        _, b1, w2, _ = self.params
        pre, h, logits = self.forward(x)
        loss, d_logits = softmax_cross_entropy(logits, labels)
        d_pre = (d_logits @ w2) * (pre > 0)
        return loss, [d_pre.T @ x, d_pre.sum(0), d_logits.T @ h, d_logits.sum(0)]

    def accuracy(self, x, labels):
        return float(np.mean(self.forward(x)[2].argmax(axis=1) == labels))

    def dead_fraction(self, x):
        """The share of hidden units that no example of `x` activates (a dead ReLU gets no
        gradient through its input weights)."""
        return float(np.mean((self.forward(x)[0] > 0).sum(axis=0) == 0))


class NormedClassifier:
    """x -> relu(layernorm(x W1^T)) -> logits h W2^T + b2, softmax cross-entropy: the hidden
    layer normalised per example (no gain or bias), so the loss does not see W1's scale
    (loss(c W1) = loss(W1) for c > 0) and its gradient is orthogonal to W1: the
    scale-invariant weights of the rotational-equilibrium analysis."""

    def __init__(self, n_in, n_hidden, n_classes, dtype=np.float64):
        self.params = [np.zeros((n_hidden, n_in), dtype),
                       np.zeros((n_classes, n_hidden), dtype), np.zeros(n_classes, dtype)]

    def forward(self, x):
        """(normalised pre-activations, their per-example std, logits)."""
        w1, w2, b2 = self.params
        z = x @ w1.T
        z = z - z.mean(axis=1, keepdims=True)
        sd = np.sqrt((z * z).mean(axis=1, keepdims=True) + 1e-12)
        u = z / sd
        return u, sd, np.maximum(u, 0) @ w2.T + b2

    def loss_and_grads(self, x, labels):
        _, w2, _ = self.params
        u, sd, logits = self.forward(x)
        loss, d_logits = softmax_cross_entropy(logits, labels)
        h = np.maximum(u, 0)
        d_u = (d_logits @ w2) * (u > 0)
        # through the normalisation: d_z = (d_u - mean(d_u) - u * mean(d_u * u)) / sd
        d_z = (d_u - d_u.mean(axis=1, keepdims=True)
               - u * (d_u * u).mean(axis=1, keepdims=True)) / sd
        return loss, [d_z.T @ x, d_logits.T @ h, d_logits.sum(0)]

    def accuracy(self, x, labels):
        return float(np.mean(self.forward(x)[2].argmax(axis=1) == labels))
