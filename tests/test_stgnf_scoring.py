"""STG-NF's batch-minor evaluation pass: the module's NLL, batch-invariant, and used by the estimator."""

import numpy as np
import pytest
import torch
from _helpers import perturbed

from unsupvad.datasets import make_synthetic_videos
from unsupvad.models import _stgnf, _stgnf_scoring
from unsupvad.models._graphs import adjacency
from unsupvad.models._stgnf import STGNF
from unsupvad.models._stgnf_network import STGNFModule
from unsupvad.models._stgnf_scoring import BatchMinorFlow, eval_flow, supports_batch_minor


def _trained_module(adj, seg_len=24, n_windows=256, seed=0, **kwargs) -> tuple[STGNFModule, torch.Tensor]:
    """A module whose ActNorm, batch-norm statistics and weights are all away from their initial values."""
    torch.manual_seed(seed)
    channels = kwargs.get("in_channels", 2)
    module = STGNFModule(adj, seg_len, n_flows=kwargs.pop("n_flows", 4), **kwargs)
    x = torch.randn(n_windows, channels, seg_len, adj.shape[-1])
    module.train()
    module(x, torch.rand(n_windows))
    perturbed(module, seed, scale=0.2)
    gen = torch.Generator().manual_seed(seed + 1)
    return module.eval(), x + 0.5 * torch.randn(x.shape, generator=gen)


FLOWS = {
    "box5": dict(adj=adjacency("box5", "uniform", 8)),
    "openpose18": dict(adj=adjacency("openpose18", "uniform", 8)),
    "invconv": dict(adj=adjacency("box5", "uniform", 8), permutation="invconv"),
    "learn-prior": dict(adj=adjacency("box5", "uniform", 8), learn_prior=True),
    "hidden": dict(adj=adjacency("openpose18", "uniform", 8), hidden_channels=4),
    "three-channels": dict(adj=adjacency("box5", "uniform", 8), in_channels=3),
    "short-window": dict(adj=adjacency("box5", "uniform", 8), seg_len=6, temporal_kernel=3),
    "many-joints": dict(adj=np.full((1, 70, 70), 1 / 70, np.float32), seg_len=4, n_windows=64),
}


@pytest.mark.parametrize("case", FLOWS)
def test_batch_minor_nll_equals_the_module(case):
    module, x = _trained_module(**FLOWS[case])
    assert supports_batch_minor(module)
    with torch.no_grad():
        expected = module(x).numpy()
    got = BatchMinorFlow(module)(x).numpy()
    assert got.shape == expected.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.std(expected) > 0.01  # windows that differ (1000 times the tolerance): a wrong sample order shows


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", ["box5", "openpose18"])
def test_a_window_scores_the_same_in_any_batch(case, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        module, x = _trained_module(**FLOWS[case], n_windows=1100)
        flow = BatchMinorFlow(module)
        whole = flow(x)
        for start, stop in [(0, 1), (0, 7), (3, 100), (5, 1029), (1000, 1100), (1099, 1100), (17, 1041)]:
            torch.testing.assert_close(flow(x[start:stop]), whole[start:stop], rtol=0, atol=0)
    finally:
        torch.set_num_threads(before)


def test_unsupported_flows_fall_back_to_the_module():
    spatial, x = _trained_module(adjacency("box5", "spatial", 1))
    long_window, x_long = _trained_module(adjacency("box5", "uniform", 8), seg_len=160, n_windows=16)
    for module, windows in [(spatial, x), (long_window, x_long)]:
        assert not supports_batch_minor(module)
        with torch.no_grad():
            torch.testing.assert_close(eval_flow(module)(windows), module(windows), rtol=0, atol=0)
    released, _ = _trained_module(adjacency("box5", "uniform", 8))
    assert supports_batch_minor(released)
    released.steps[1].coupling.units[0].res_bn.train()  # statistics being gathered (precise batch norm)
    assert not supports_batch_minor(released)
    assert not supports_batch_minor(released.train())  # batch statistics: only the module computes them


def test_the_flow_reads_the_parameters_when_built():
    module, x = _trained_module(adjacency("box5", "uniform", 8))
    flow = BatchMinorFlow(module)
    before = flow(x)
    with torch.no_grad():
        module.steps[0].actnorm.bias.add_(1.0)
    torch.testing.assert_close(flow(x), before, rtol=0, atol=0)
    with torch.no_grad():
        expected = module(x)
    torch.testing.assert_close(BatchMinorFlow(module)(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout, tracks", [("box5", "boxes"), ("openpose18", "keypoints")])
def test_estimator_scores_through_the_batch_minor_pass(monkeypatch, layout, tracks):
    X = make_synthetic_videos(4, n_frames=(96, 128), n_people=2, tracks=tracks, features=False, random_state=0)
    est = STGNF(layout=layout, seg_len=12, n_flows=2, max_epochs=1, batch_size=64, device="cpu",
                random_state=0).fit(X)
    fast = est.score_objects(X)
    calls = []
    monkeypatch.setattr(_stgnf_scoring, "supports_batch_minor", lambda module: calls.append(1) or False)
    slow = est.score_objects(X)
    assert calls
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)
    assert np.std(slow) > 0


def test_cpu_scoring_batches_hold_about_two_megabytes():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert _stgnf._score_batch(cpu, 2 * 24 * 5) == 2176
    assert _stgnf._score_batch(cpu, 2 * 24 * 18) == 576
    assert _stgnf._score_batch(cpu, 10**7) == 64
    assert _stgnf._score_batch(cpu, 1) == 8192
    assert _stgnf._score_batch(cuda, 2 * 24 * 5) == 8192
    assert all(_stgnf._score_batch(cpu, v) % _stgnf_scoring.SAMPLE_ALIGNMENT == 0 for v in range(1, 5000, 37))
