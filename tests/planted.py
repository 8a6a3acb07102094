"""Helpers for tests on planted problems (align.synthetic)."""
import numpy as np


def held_out(problem, n_train):
    """Split a planted Problem into unpaired training sets (Y keeps the problem's shuffled order),
    the training rows' true pairs (row of X_train, row of Y_train), and held-out row-paired sets.

    Returns ``(X_train, Y_train, true_pairs, X_eval, Y_eval)``."""
    tr, te = problem.pairs[:n_train], problem.pairs[n_train:]
    ys = np.sort(tr[:, 1])
    pos = np.empty(problem.Y.shape[0], np.int64)
    pos[ys] = np.arange(len(ys))
    true = np.stack([np.arange(n_train), pos[tr[:, 1]]], 1)
    return problem.X[tr[:, 0]], problem.Y[ys], true, problem.X[te[:, 0]], problem.Y[te[:, 1]]


def hmm_state_seeds(problem, n_states):
    """One (row of X, row of Y) pair per hidden state of an ``hmm_pairs`` problem: the first row in that state."""
    sa, sb = problem.meta["state_of_a"], problem.meta["state_of_b"]
    return np.array([[np.flatnonzero(sa == s)[0], np.flatnonzero(sb == s)[0]] for s in range(n_states)])
