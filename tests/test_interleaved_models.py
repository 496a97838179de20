"""InterleavedVAD with the real networks (STGNF + RTFM) on generated videos, tiny configuration."""

import numpy as np
import pytest

from unsupvad import RTFM, STGNF, InterleavedVAD
from unsupvad.datasets import make_synthetic_videos


@pytest.fixture(scope="module")
def split():
    X = make_synthetic_videos(12, n_frames=(160, 240), random_state=3)
    return X[np.flatnonzero(X.snippet_video < 8)], X[np.flatnonzero(X.snippet_video >= 8)]


def tiny_model(**kw):
    wocc = STGNF(n_flows=2, seg_len=8, batch_size=64, lr=2e-3, flip_augment=False, score_stride=2,
                 snippet_scoring="max")
    ws = RTFM(branch_dim=16, head_dims=(16, 8), iterations_per_epoch=5)
    return InterleavedVAD(wocc, ws, max_modules=2, module_steps=2, device="cpu", random_state=0, **kw)


def test_fit_and_score_with_the_real_networks(split):
    train, test = split
    model = tiny_model().fit(train)
    assert model.n_modules_ == len(model.thresholds_) and model.n_steps_ == 2 * model.n_modules_
    assert all(a >= b for a, b in zip(model.thresholds_, model.thresholds_[1:]))
    assert {"wocc_loss", "ws_loss"} <= set(model.history_[0])
    for scorer in ("ws", "wocc"):
        frames = model.set_params(scorer=scorer).score_frames(test)
        assert [len(f) for f in frames] == list(test.n_frames)
        assert all(np.isfinite(f).all() for f in frames)
    assert model.set_params(scorer="ws").anomaly_score(test).shape == (len(test),)


def test_same_random_state_same_scores(split):
    train, test = split
    a, b = tiny_model().fit(train), tiny_model().fit(train)
    assert a.thresholds_ == b.thresholds_
    np.testing.assert_array_equal(a.anomaly_score(test), b.anomaly_score(test))
