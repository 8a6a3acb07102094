"""The one ResidualMLP: both bodies give, for the same seed, the outputs (and state-dict keys) the two
classes it replaced gave (reference numbers recorded from the old align.supervised.mlp.ResidualMLP
and align.unsupervised.cycle_losses.ResidualMLP)."""
import numpy as np
import torch

from align.supervised.mlp import ResidualMLP as FromTranslator
from align.supervised.mlp_blocks import ResidualMLP
from align.unsupervised.cycle_losses import CycleNet, ResidualMLP as FromCycle, _adapter

X = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))

TRANSLATOR = [[3.401148, -2.233143, -2.578941, -2.648902], [4.970570, -1.385628, -2.925354, -1.886760],
              [2.100748, -0.085620, 2.738193, 1.396373], [5.010706, -1.497288, 2.824838, 0.082823],
              [4.052082, -1.274828, -0.208161, -1.918625]]
ADAPTER = [[1.099070, -0.127918, 0.561896, -0.906722], [0.347271, -0.128452, 0.731291, 0.072727],
           [0.409119, 0.605524, -0.101349, -1.070865], [0.918677, -0.123142, 0.616498, 0.564346],
           [-0.004651, 0.155148, 0.206050, -1.060210]]


def _perturb_last(layer):
    with torch.no_grad():  # the last layer starts at zero; give it weights so the body shows
        layer.weight.normal_(generator=torch.Generator().manual_seed(2))
        layer.bias.fill_(0.1)


def test_one_class_under_both_old_names():
    assert FromTranslator is ResidualMLP and FromCycle is ResidualMLP


def test_translator_body_matches_the_old_class():
    torch.manual_seed(0)
    net = ResidualMLP(6, 4, 8, 2, "layer", 0.0)
    _perturb_last(net.out)
    np.testing.assert_allclose(net(X).detach().numpy(), TRANSLATOR, atol=1e-5)
    assert sorted(net.state_dict()) == sorted(
        ["blocks.0.fc1.bias", "blocks.0.fc1.weight", "blocks.0.fc2.bias", "blocks.0.fc2.weight",
         "blocks.0.norm.bias", "blocks.0.norm.weight", "inp.bias", "inp.weight", "norm.bias", "norm.weight",
         "out.bias", "out.weight", "skip.bias", "skip.weight"])


def test_adapter_body_matches_the_old_class():
    torch.manual_seed(0)
    net = _adapter(6, 4, 8, 3)
    _perturb_last(net.mlp[-1])
    np.testing.assert_allclose(net(X).detach().numpy(), ADAPTER, atol=1e-5)
    assert sorted(net.state_dict()) == ["mlp.0.bias", "mlp.0.weight", "mlp.2.bias", "mlp.2.weight",
                                        "mlp.4.bias", "mlp.4.weight", "skip.weight"]


def test_both_start_as_their_linear_skip():
    M = np.random.default_rng(0).standard_normal((6, 4))
    for net in (ResidualMLP(6, 4, 8, 2), _adapter(6, 4, 8, 2), _adapter(6, 4, 8, 0)):
        net.set_linear(M)
        out = net(X).detach().numpy() - (net.skip.bias.detach().numpy() if net.skip.bias is not None else 0)
        np.testing.assert_allclose(out, X.numpy() @ M, atol=1e-5)
    net = CycleNet(6, 4, 6, 8, 2, vib=False)
    net.warm_start(np.eye(6, 4))
    np.testing.assert_allclose(net.translate(X, "x", "y").detach().numpy(), X.numpy()[:, :4], atol=1e-5)
