"""The default network, its spec and the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import foldlens as fl
from foldlens.models import available, load, spec
from foldlens.models.default import DefaultNet
from foldlens.models.seed2018 import Seed2018Net
from foldlens.protein.labels import DISTANCE_MAPS


def test_registry() -> None:
    assert "default" in available()
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        load("nope")
    model = load("default")
    assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())


def test_spec_matches_the_network() -> None:
    model_spec = spec("default")
    model = DefaultNet()
    paths = dict(model.named_modules())
    assert model_spec.layers and all(layer.path in paths for layer in model_spec.layers)
    assert len(model_spec.input.features) == 41
    out = model(torch.randn(1, 41, 30))
    for head in model_spec.heads:
        if head.source:  # read out of another head's logits (the confidence)
            assert head.source in out and head.name not in out
            continue
        assert head.name in out
        assert out[head.name].shape[1] == (
            len(head.classes) if head.classes else out[head.name].shape[1]
        )
    assert set(model_spec.exact_methods) == set(fl.methods())
    assert model_spec.to_json()["name"] == "default"


def test_receptive_radius_is_exact() -> None:
    """A residue at the radius changes a per-residue output; one just beyond does not."""
    torch.manual_seed(0)
    model = DefaultNet().eval()
    radius = model.residue_radius()
    length, target = 2 * radius + 21, radius + 10
    x = torch.randn(1, 41, length)
    with torch.no_grad():
        before = model(x, pairs=False)["ss8"][0, :, target]
        for offset, changes in ((radius, True), (radius + 1, False)):
            moved = x.clone()
            moved[0, :, target + offset] += 1.0
            after = model(moved, pairs=False)["ss8"][0, :, target]
            assert bool((after != before).any()) == changes


def test_a_deepened_network_computes_the_same_function() -> None:
    """New blocks start as the identity (h + 0 with a zero second convolution), so every output
    is bit-for-bit the shallower network's, with and without a padding mask."""
    torch.manual_seed(0)
    small = DefaultNet(channels=16, pair_channels=8, blocks1d=3, blocks2d=2).eval()
    deep = small.deepened(6, 5).eval()
    assert (len(deep.trunk1d), len(deep.trunk2d)) == (6, 5)
    assert [block.conv1.dilation[0] for block in deep.trunk1d] == [1, 2, 4, 8, 1, 2]
    x = torch.randn(2, 41, 23)
    rows, cols = torch.tensor([[0, 3, 5], [2, 4, 9]]), torch.tensor([[7, 8, 20], [1, 2, 3]])
    mask = torch.ones(2, 23, dtype=torch.bool)
    mask[1, 15:] = False
    with torch.no_grad():
        for kwargs in ({}, {"rows": rows, "cols": cols, "mask": mask}):
            ours, theirs = deep(x, **kwargs), small(x, **kwargs)
            assert all(torch.equal(ours[name], theirs[name]) for name in theirs)
    assert deep.residue_radius() > small.residue_radius()
    with pytest.raises(ValueError, match="keeps every block"):
        deep.deepened(5, 5)


def test_a_network_is_built_in_the_shape_of_its_weights() -> None:
    torch.manual_seed(0)
    odd = DefaultNet(channels=12, pair_channels=6, blocks1d=5, blocks2d=3)
    rebuilt = DefaultNet.shaped_like(odd.state_dict())
    rebuilt.load_state_dict(odd.state_dict())  # strict: every key and shape matches
    assert (len(rebuilt.trunk1d), len(rebuilt.trunk2d)) == (5, 3)
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in odd.parameters())


def test_pair_outputs_are_symmetric_where_physics_says_so() -> None:
    torch.manual_seed(0)
    out = DefaultNet().eval()(torch.randn(1, 41, 25))
    torch.testing.assert_close(out["dist_ca_ca"], out["dist_ca_ca"].transpose(-1, -2))
    torch.testing.assert_close(out["dist_ca_cb"], out["dist_cb_ca"].transpose(-1, -2))
    torch.testing.assert_close(out["contact"], out["contact"].transpose(-1, -2))


def test_default_model_is_explainable_exactly() -> None:
    model = load("default")
    x = torch.randn(1, 41, 40).abs()
    _, report = fl.attribute(
        model, x, ("ss3", 0, 1, 20), method="guided_backprop", strict=True, return_report=True
    )
    assert report.exact
    maps = fl.attribute(
        model, x, [(name, 0, 5, 3, 30) for name in DISTANCE_MAPS], method="gradient"
    )
    assert maps.shape == (4, 1, 41, 40) and maps.abs().sum() > 0


def test_seed2018_shape_and_receptive_field() -> None:
    """Three convolutions on 441 pair channels; output (i, j) sees exactly a 15 × 15 window."""
    model_spec = spec("seed2018")
    assert [layer.path for layer in model_spec.layers] == ["conv1", "conv2", "conv3"]
    assert model_spec.layers[0].channels == 441 and model_spec.receptive_field == {"pair": 7}
    torch.manual_seed(0)
    model = Seed2018Net().eval()
    x = torch.zeros(1, 41, 40)
    x[0, torch.randint(20, (40,)), torch.arange(40)] = 1.0
    pair_input = fl.attribute(model, x, ("dist_cb_cb", 0, 20, 12), method="gradient", wrt="conv1")
    assert pair_input.shape == (1, 441, 40, 40)
    reached = pair_input.abs().sum(dim=(0, 1)) > 0
    rows, cols = reached.nonzero(as_tuple=True)
    assert rows.min() >= 13 and rows.max() <= 27 and cols.min() >= 5 and cols.max() <= 19


def test_seed2018_states_keep_the_query_letter() -> None:
    """c = (onehot + profile) / 2 with a profile, the one-hot letter without; 21 states sum to 1."""
    from foldlens.models.residue_input import encode
    from foldlens.models.seed2018 import profile_states
    from foldlens.protein.record import Protein

    rng = np.random.default_rng(0)
    profile = rng.dirichlet(np.ones(20), 12).astype(np.float32)
    sequence = "MKTAYIAKQRQI"
    with_profile = profile_states(encode(Protein(sequence, profile)))[0]
    alone = profile_states(encode(Protein(sequence)))[0]
    onehot = encode(Protein(sequence))[0, :20]
    torch.testing.assert_close(alone[:20], onehot)
    torch.testing.assert_close(with_profile[:20], (onehot + torch.from_numpy(profile).T) / 2)
    torch.testing.assert_close(with_profile.sum(0), torch.ones(12))
    assert (with_profile[:20].max(0).values >= 0.5).all()


def test_exact_methods_come_from_the_engines_audit() -> None:
    """Shipped networks: every method exact (their spec says so because the audit found only
    ReLUs, linear ops and products). A network with a GELU: deconvnet and guided backprop are
    not, nor is LRP (no rule for a GELU); DeepLIFT is (its Rescale rule takes any elementwise
    function)."""
    from foldlens.models.exactness import audited_methods

    for name in ("default", "seed2018"):
        assert (
            set(spec(name).exact_methods) == set(fl.methods())
            and not spec(name).approximate_methods
        )
    smooth = torch.nn.Sequential(
        torch.nn.Conv1d(41, 8, 3, padding=1), torch.nn.GELU(), torch.nn.Conv1d(8, 2, 1)
    )
    exact, approximate, reason = audited_methods(smooth, torch.rand(1, 41, 12))
    assert reason == "no exact rule for gelu (1 call): the plain gradient passes there"
    assert set(approximate) == {"deconvnet", "guided_backprop", "lrp"}
    assert set(exact) == set(fl.methods()) - set(approximate)
    # max pooling selects by value: exact for a gradient rule, not for DeepLIFT's differences
    pooled = torch.nn.Sequential(
        torch.nn.Conv1d(41, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool1d(2)
    )
    exact, approximate, reason = audited_methods(pooled, torch.rand(1, 41, 12))
    assert approximate == ["deeplift"]
    assert reason.startswith("deeplift: no exact rule for max_pool1d")
