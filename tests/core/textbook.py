"""The article's algorithm as a plain textbook loop, the reference the trainer is checked against.

Written the way the article writes it: arrays are (samples, units), one hidden layer of sigmoid
units, a sigmoid output, the loss 1/2 * sum (p - y)^2 and full-batch gradient descent. Nothing here
is shared with `nnviz.core`, so an error in the trainer cannot cancel out against the same error
in the reference.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def article_data(noise=0.2, n_samples=1000, data_seed=4242, test_size=0.25, split_seed=42):
    """X_train, X_test, y_train, y_test with y as a (samples, 1) column, as in the article."""
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=data_seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=split_seed
    )
    return X_train, X_test, y_train.reshape(-1, 1), y_test.reshape(-1, 1)


def initial_weights(hidden, seed=4242, init_range=0.1):
    """`np.random.seed(seed)` then W1 and W2 from uniform(-r, r), biases zero.

    A `RandomState(seed)` object draws the same numbers as the seeded global generator, without
    changing NumPy's global state for the rest of the test session.
    """
    rng = np.random.RandomState(seed)
    W1 = rng.uniform(-init_range, init_range, (2, hidden))
    W2 = rng.uniform(-init_range, init_range, (hidden, 1))
    b1 = np.zeros(hidden)
    b2 = np.zeros(1)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def forward(X, weights):
    """Hidden activations h and output probabilities p."""
    h = sigmoid(X @ weights["W1"] + weights["b1"])
    p = sigmoid(h @ weights["W2"] + weights["b2"])
    return h, p


def loss(X, y, weights):
    """The article's error: 1/2 * sum of squared differences."""
    _, p = forward(X, weights)
    return 0.5 * np.sum((p - y) ** 2)


def backward(X, y, weights):
    """Error terms d1, d2 and the gradient of the loss for one full-batch iteration."""
    h, p = forward(X, weights)
    d2 = (p - y) * p * (1 - p)
    d1 = d2 @ weights["W2"].T * h * (1 - h)
    gradient = {
        "W1": X.T @ d1,
        "b1": d1.sum(axis=0),
        "W2": h.T @ d2,
        "b2": d2.sum(axis=0),
    }
    return d1, d2, gradient


def train(X, y, weights, learning_rate, iterations):
    """Run `iterations` steps of gradient descent, updating `weights` in place, and return it."""
    W1, b1, W2, b2 = weights["W1"], weights["b1"], weights["W2"], weights["b2"]
    for _ in range(iterations):
        h = sigmoid(X @ W1 + b1)
        p = sigmoid(h @ W2 + b2)
        d2 = (p - y) * p * (1 - p)
        d1 = d2 @ W2.T * h * (1 - h)
        W2 -= learning_rate * h.T @ d2
        b2 -= learning_rate * d2.sum(axis=0)
        W1 -= learning_rate * X.T @ d1
        b1 -= learning_rate * d1.sum(axis=0)
    return weights
