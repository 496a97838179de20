"""Weighted batch norm: the closed-form gradient, the running statistics, the prepared batch weights."""

import numpy as np
import pytest
import torch

from unsupvad.models._weighted_norm import BatchWeights, WeightedBatchNorm2d, _WeightedNormalise


def _composed(x, weight, gamma, beta, eps):
    """The weighted normalisation written out, differentiated by autograd."""
    share = (weight / weight.sum()).view(-1, 1, 1, 1)
    positions = x[0, 0].numel()
    mean = (x * share).sum((0, 2, 3), keepdim=True) / positions
    var = ((x - mean).square() * share).sum((0, 2, 3), keepdim=True) / positions
    return gamma.view(1, -1, 1, 1) * (x - mean) / torch.sqrt(var + eps) + beta.view(1, -1, 1, 1)


def test_closed_form_gradient_passes_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(6, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    gamma = torch.rand(2, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(2, dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([1.0, 0.0, 0.5, 0.25, 1.0, 0.9], dtype=torch.float64)
    shares = BatchWeights(weight, x).position_shares(4 * 3)

    def normalise(x, gamma, beta):
        return _WeightedNormalise.apply(x, shares, gamma, beta, 1e-5)[0]

    assert torch.autograd.gradcheck(normalise, (x, gamma, beta))
    grad = torch.randn(6, 2, 4, 3, dtype=torch.float64)
    ours = torch.autograd.grad(normalise(x, gamma, beta), (x, gamma, beta), grad)
    theirs = torch.autograd.grad(_composed(x, weight, gamma, beta, 1e-5), (x, gamma, beta), grad)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    # a sample of weight 0 is normalised but takes no part in the statistics: its gradient is gamma rstd g
    centred = x - (x * (weight / weight.sum()).view(-1, 1, 1, 1)).sum((0, 2, 3), keepdim=True) / 12
    var = (centred.square() * (weight / weight.sum()).view(-1, 1, 1, 1)).sum((0, 2, 3)) / 12
    direct = (gamma / torch.sqrt(var + 1e-5)).view(-1, 1, 1) * grad[1]
    np.testing.assert_allclose(ours[0][1].detach().numpy(), direct.detach().numpy(), rtol=1e-10)


def test_weighted_output_and_running_statistics_equal_the_formula():
    torch.manual_seed(0)
    norm = WeightedBatchNorm2d(3, momentum=0.1)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.normal_()
    x, weight = torch.randn(8, 3, 5, 4), torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 1.0, 0.25, 1.0])
    out = norm(x, weight, repeat=2)
    np.testing.assert_allclose(out.detach().numpy(), _composed(x, weight, norm.weight, norm.bias, norm.eps)
                               .detach().numpy(), rtol=1e-5, atol=1e-5)
    share = (weight / weight.sum()).view(-1, 1, 1, 1)
    mean = (x * share).sum((0, 2, 3)) / 20
    var = ((x - mean.view(1, -1, 1, 1)).square() * share).sum((0, 2, 3)) / 20
    n = 6 * 20 * 2  # weighted samples x positions x repeat
    np.testing.assert_allclose(norm.running_mean.numpy(), 0.1 * mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(norm.running_var.numpy(), 0.9 + 0.1 * var.numpy() * n / (n - 1), rtol=1e-5)


def test_a_batch_without_weight_leaves_the_running_statistics():
    norm = WeightedBatchNorm2d(2)
    norm(torch.randn(4, 2, 3, 3), torch.ones(4))
    before = {k: v.clone() for k, v in norm.state_dict().items()}
    norm(torch.randn(4, 2, 3, 3) + 5.0, torch.zeros(4))
    for key, value in norm.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("repeat", [1, 5])
def test_unweighted_is_batchnorm_and_counts_the_repeats(repeat):
    torch.manual_seed(0)
    x = torch.randn(8, 2, 6, 1, requires_grad=True)
    ours, reference = WeightedBatchNorm2d(2), torch.nn.BatchNorm2d(2)
    out = ours(x, None, repeat=repeat)
    np.testing.assert_allclose(out.detach().numpy(), reference(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_mean.numpy(), reference.running_mean.numpy(), rtol=1e-5, atol=1e-7)
    var = x.detach().var(dim=(0, 2, 3), correction=0).numpy()
    n = 8 * 6 * repeat
    np.testing.assert_allclose(ours.running_var.numpy(), 0.9 + 0.1 * var * n / (n - 1), rtol=1e-5)
    out.sum().backward()  # the fused kernel carries the gradient


def test_prepared_weights_are_reused_and_equal_a_tensor():
    x, weight = torch.randn(5, 2, 3, 2), torch.tensor([0.0, 1.0, 2.0, 1.0, 0.0])
    batch = BatchWeights(weight, x)
    assert BatchWeights.of(batch, x) is batch
    np.testing.assert_allclose(batch.shares.numpy(), [0, 0.25, 0.5, 0.25, 0])
    assert float(batch.n_weighted) == 3 and bool(batch.has_data) and not batch.uniform
    assert batch.unbiased_factor(4) is batch.unbiased_factor(4)
    assert float(batch.unbiased_factor(4)) == pytest.approx(12 / 11)
    a, b = WeightedBatchNorm2d(2), WeightedBatchNorm2d(2)
    torch.testing.assert_close(a(x, batch), b(x, weight), rtol=0, atol=0)
    torch.testing.assert_close(a.running_var, b.running_var, rtol=0, atol=0)
