"""The sanity checks of foldlens.analysis, against scipy, scikit-image and loops written here."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
import scipy.stats
import skimage.metrics
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
from foldlens.analysis import (
    AnalysisCancelledError,
    default_epsilons,
    deletion_curve,
    distance_profile,
    feature_correlation,
    follow_the_attribution,
    insertion_curve,
    parameter_layers,
    perturbation_test,
    position_ranking,
    random_ranking,
    random_target_test,
    randomization_test,
    randomize_layer,
    randomized_models,
    similarity,
    spearman,
    ssim,
    top_k_overlap,
    verdict,
)
from foldlens.analysis.maps import as_map
from foldlens.analysis.metrics import MapSimilarity
from foldlens.analysis.randomization import BARELY, DEPENDS, PARTLY, RandomizationResult

# --- metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_spearman_against_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(6, 9)), rng.normal(size=(6, 9))
    want = scipy.stats.spearmanr(a.ravel(), b.ravel()).statistic
    assert spearman(a, b) == pytest.approx(want, abs=1e-12)
    ties_a = rng.integers(0, 4, size=40).astype(float)
    ties_b = rng.integers(0, 3, size=40).astype(float) + 0.1 * ties_a
    want = scipy.stats.spearmanr(ties_a, ties_b).statistic
    assert spearman(ties_a, ties_b) == pytest.approx(want, abs=1e-12)


def test_spearman_of_a_constant_map_is_zero() -> None:
    assert spearman(np.full((3, 4), 2.5), np.arange(12.0).reshape(3, 4)) == 0.0
    assert spearman(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)


def _ssim_oracle_args(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    w = min(7, *a.shape)
    return {
        "win_size": w if w % 2 else w - 1,
        "data_range": max(a.max(), b.max()) - min(a.min(), b.min()),
    }


def _structured(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return np.sin(rows / 2.0) * np.cos(cols / 3.0) + 0.1 * rng.normal(size=shape)


@pytest.mark.parametrize(
    "shape", [(7, 7), (12, 12), (20, 33), (33, 20), (5, 40), (9, 4), (3, 3), (6, 10)]
)
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_ssim_against_skimage(shape: tuple[int, int], kind: str) -> None:
    rng = np.random.default_rng(sum(shape))
    if kind == "random":
        a, b = rng.normal(size=shape), rng.uniform(-1, 2, size=shape)
    else:
        a = _structured(shape, rng)
        b = a + 0.3 * rng.normal(size=shape)
    want = skimage.metrics.structural_similarity(a, b, **_ssim_oracle_args(a, b))
    assert ssim(a, b) == pytest.approx(want, abs=1e-10)
    assert ssim(a, a) == pytest.approx(1.0)


def _ssim_loop(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> float:
    """SSIM over every fully-inside window, with numpy's sample (co)variances."""
    r = max(a.max(), b.max()) - min(a.min(), b.min())
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    values = []
    for i in range(a.shape[0] - window[0] + 1):
        for j in range(a.shape[1] - window[1] + 1):
            x = a[i : i + window[0], j : j + window[1]].ravel()
            y = b[i : i + window[0], j : j + window[1]].ravel()
            cov = np.cov(x, y)
            luminance = (2 * x.mean() * y.mean() + c1) / (x.mean() ** 2 + y.mean() ** 2 + c1)
            values.append(luminance * (2 * cov[0, 1] + c2) / (cov[0, 0] + cov[1, 1] + c2))
    return float(np.mean(values))


@pytest.mark.parametrize("shape", [(1, 20), (2, 15), (1, 5), (20, 2)])
def test_ssim_of_thin_maps_uses_a_thin_window(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=shape), rng.normal(size=shape)
    long = max(shape)
    w = min(7, long) if min(7, long) % 2 else min(7, long) - 1
    window = (1, w) if shape[0] < 3 else (w, 1)
    assert ssim(a, b) == pytest.approx(_ssim_loop(a, b, window), abs=1e-12)


def test_ssim_edge_cases() -> None:
    assert ssim(np.full((4, 4), 3.0), np.full((4, 4), 3.0)) == 1.0
    with pytest.raises(ValueError, match="2D"):
        ssim(np.zeros(10), np.ones(10))
    with pytest.raises(ValueError, match="at least 3"):
        ssim(np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="same shape"):
        ssim(np.zeros((4, 4)), np.ones((4, 5)))


@pytest.mark.parametrize("k", [1, 5, 17, 60])
def test_top_k_overlap_against_sets(k: int) -> None:
    rng = np.random.default_rng(k)
    a, b = rng.normal(size=(6, 10)), rng.normal(size=(6, 10))
    b[:2] = a[:2]
    top_a = set(np.argsort(a.ravel())[::-1][:k].tolist())
    top_b = set(np.argsort(b.ravel())[::-1][:k].tolist())
    assert top_k_overlap(a, b, k) == len(top_a & top_b) / k
    with pytest.raises(ValueError, match="k must be"):
        top_k_overlap(a, b, 61)


def test_similarity_reads_magnitudes_for_the_absolute_numbers() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 12))
    flipped = similarity(a, -a, k=6)
    assert flipped.spearman_signed == pytest.approx(-1.0)
    assert flipped.spearman_absolute == pytest.approx(1.0)
    assert flipped.top_k == 1.0
    assert flipped.ssim < 1
    assert similarity(a, a, k=6).to_json() == {
        "spearman_signed": pytest.approx(1.0),
        "spearman_absolute": pytest.approx(1.0),
        "ssim": pytest.approx(1.0),
        "top_k": 1.0,
    }


def test_as_map_shapes() -> None:
    assert as_map(torch.ones(1, 4, 16)).shape == (4, 16)
    assert as_map(torch.ones(1, 12)).shape == (1, 12)
    assert as_map(torch.ones(1, 3, 4, 5)).shape == (12, 5)


# --- randomization ---------------------------------------------------------------------------


class Scale(nn.Module):
    """A bare parameter and no ``reset_parameters``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.weight


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(4, 8, 3, padding=1)
        self.scale = Scale(8)
        self.unused = nn.Linear(3, 3)
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.head = nn.Conv1d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scale(F.relu(self.conv1(x)))
        return self.head(F.relu(self.conv2(h)))


LAYERS = ["conv1", "scale", "conv2", "head"]


def _net(seed: int = 0) -> Net:
    torch.manual_seed(seed)
    return Net().eval()


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.state_dict().items()}


def _assert_same(model: nn.Module, snapshot: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    assert state.keys() == snapshot.keys()
    for name, value in snapshot.items():
        assert torch.equal(state[name], value), name


def _changed_layers(model: nn.Module, copy: nn.Module) -> set[str]:
    original = dict(model.named_parameters())
    changed = set()
    for name, parameter in copy.named_parameters():
        layer = name.rsplit(".", 1)[0]
        if torch.equal(parameter, original[name]):
            continue
        # Randomization must touch every element, not just some.
        assert bool((parameter != original[name]).all()), name
        changed.add(layer)
    return changed


def test_parameter_layers_in_run_order_without_unused_ones() -> None:
    net = _net()
    assert parameter_layers(net, lambda: net(torch.randn(1, 4, 10))) == LAYERS
    assert all(not module._forward_hooks for module in net.modules())


def test_cascade_randomizes_from_the_top_and_keeps_the_original() -> None:
    net = _net()
    before = _snapshot(net)
    steps = list(randomized_models(net, LAYERS, "cascade", seed=3))
    assert [path for path, _ in steps] == LAYERS[::-1]
    for done, (_, randomized) in enumerate(steps, 1):
        assert randomized is not net
        assert _changed_layers(net, randomized) == set(LAYERS[::-1][:done])
    assert len({id(copy) for _, copy in steps}) == len(steps)
    _assert_same(net, before)


def test_independent_randomizes_one_layer_each() -> None:
    net = _net()
    before = _snapshot(net)
    for path, randomized in randomized_models(net, LAYERS, "independent", seed=3):
        assert _changed_layers(net, randomized) == {path}
    _assert_same(net, before)
    with pytest.raises(ValueError, match="mode"):
        randomized_models(net, LAYERS, "shuffled")  # type: ignore[arg-type]


def test_both_modes_draw_the_same_values_for_a_layer() -> None:
    net = _net()
    cascade = dict(randomized_models(net, LAYERS, "cascade", seed=1))
    independent = dict(randomized_models(net, LAYERS, "independent", seed=1))
    for path in LAYERS:
        got = independent[path].get_submodule(path).state_dict()
        want = cascade[path].get_submodule(path).state_dict()
        assert all(torch.equal(got[name], want[name]) for name in want)


@pytest.mark.parametrize(
    "make", [lambda: nn.Conv1d(3, 4, 3), lambda: nn.BatchNorm1d(5), lambda: Scale(6)]
)
def test_randomize_layer_is_reproducible_and_changes_every_parameter(make: Any) -> None:
    torch.manual_seed(0)
    module = make()
    original = [p.detach().clone() for p in module.parameters()]
    randomized = []
    for _ in range(2):
        twin = copy.deepcopy(module)
        randomize_layer(twin, torch.Generator().manual_seed(7))
        randomized.append([p.detach() for p in twin.parameters()])
    for old, first, second in zip(original, *randomized, strict=True):
        assert bool((first != old).all())
        assert torch.equal(first, second)


def test_noise_has_the_parameters_spread() -> None:
    holder = Scale(1)
    holder.weight = nn.Parameter(torch.randn(100, 200) * 0.3)
    randomize_layer(holder, torch.Generator().manual_seed(0))
    assert float(holder.weight.detach().std()) == pytest.approx(0.3, rel=0.05)
    assert abs(float(holder.weight.detach().mean())) < 0.02


def test_the_verdict_follows_the_whole_curve() -> None:
    # survives half the layers or more: barely changes, however it ends
    assert verdict(32, 37, 0.21) == BARELY
    assert verdict(2, 4, 0.0) == BARELY
    # survives everything together: barely changes, however few steps it survived on the way
    assert verdict(0, 4, 0.8001) == BARELY
    # survives under a quarter and ends below 0.5: depends on the weights
    assert verdict(0, 37, 0.21) == DEPENDS
    assert verdict(9, 37, 0.4999) == DEPENDS
    # in between
    assert verdict(10, 37, 0.2) == PARTLY  # survives a quarter or more
    assert verdict(0, 37, 0.5) == PARTLY  # ends at 0.5 or above
    assert verdict(0, 37, 0.8) == PARTLY
    assert verdict(0, 0, 0.3) == BARELY  # nothing randomized: nothing changed


def test_unchanged_layers_count_every_layer_the_map_survives() -> None:
    def steps(*rhos: float) -> list[MapSimilarity]:
        return [MapSimilarity(rho, rho, 1.0, 1.0) for rho in rhos]

    layers = ["head", "b", "a", "embed"]
    similarities = {"gbp": steps(0.99, 0.95, 0.9, 0.2), "gradient": steps(0.3, 0.9, 0.2, 0.1)}
    for mode in ("cascade", "independent"):
        result = RandomizationResult(mode, layers, similarities, {})
        assert result.unchanged_layers == {"gbp": 3, "gradient": 1}
        assert json.loads(json.dumps(result.to_json()))["unchanged_layers"]["gbp"] == 3


def test_randomization_test_compares_with_each_randomized_copy() -> None:
    net = _net()
    before = _snapshot(net)
    x = torch.randn(1, 4, 16)
    target = (0, 1, 8)
    methods = ["gradient", "guided_backprop"]
    fractions: list[float] = []
    result = randomization_test(net, x, target, methods, seed=2, progress=fractions.append)
    _assert_same(net, before)
    assert result.layers == LAYERS[::-1]
    assert fractions == pytest.approx([1 / 5, 2 / 5, 3 / 5, 4 / 5, 1.0])
    original = {m: as_map(fl.attribute(net, x, target, method=m)) for m in methods}
    steps = list(randomized_models(net, LAYERS, "cascade", seed=2))
    for method in methods:
        assert len(result.similarities[method]) == len(LAYERS)
        for (_, randomized), got in zip(steps, result.similarities[method], strict=True):
            other = as_map(fl.attribute(randomized, x, target, method=method))
            assert got == similarity(original[method], other, k=6)  # 10 % of 64 elements
        final = result.similarities[method][-1].spearman_absolute
        assert final < 1
        survived = sum(s.spearman_absolute > 0.8 for s in result.similarities[method])
        assert result.verdicts[method] == verdict(survived, len(LAYERS), final)
    encoded = json.loads(json.dumps(result.to_json()))
    assert encoded["layers"] == LAYERS[::-1] and encoded["mode"] == "cascade"
    assert set(encoded["similarities"]["gradient"][0]) == {
        "spearman_signed", "spearman_absolute", "ssim", "top_k",
    }  # fmt: skip


def test_randomization_test_independent_mode_and_chosen_layers() -> None:
    net = _net()
    x = torch.randn(1, 4, 16)
    result = randomization_test(
        net, x, (0, 0, 3), ["smoothgrad"], layers=["head", "conv1"], mode="independent",
        options={"smoothgrad": {"samples": 3}}, k=4,
    )  # fmt: skip
    assert result.layers == ["head", "conv1"]
    lowest = min(s.spearman_absolute for s in result.similarities["smoothgrad"])
    survived = sum(s.spearman_absolute > 0.8 for s in result.similarities["smoothgrad"])
    assert result.verdicts["smoothgrad"] == verdict(survived, 2, lowest)
    with pytest.raises(ValueError, match=r"unknown layers \['unused'\].*conv1"):
        randomization_test(net, x, (0, 0, 3), ["gradient"], layers=["unused"])
    with pytest.raises(ValueError, match="batch dimension of 1"):
        randomization_test(net, torch.randn(2, 4, 16), (0, 0, 3), ["gradient"])
    with pytest.raises(ValueError, match="not among the methods"):
        randomization_test(net, x, (0, 0, 3), ["gradient"], options={"occlusion": {}})


def test_randomization_test_of_a_one_dimensional_input() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)).eval()
    result = randomization_test(net, torch.randn(1, 12), (0, 2), ["gradient"])
    assert result.layers == ["2", "0"]
    assert -1 <= result.similarities["gradient"][-1].ssim <= 1


def test_randomization_test_can_be_cancelled() -> None:
    net = _net()
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 3

    fractions: list[float] = []
    with pytest.raises(AnalysisCancelledError):
        randomization_test(
            net, torch.randn(1, 4, 16), (0, 1, 8), ["gradient", "deconvnet"],
            progress=fractions.append, cancelled=cancelled,
        )  # fmt: skip
    # one poll per model (the two methods share its forward pass): the original, three copies
    assert len(polls) == 4
    assert fractions == [pytest.approx(1 / 5), pytest.approx(2 / 5), pytest.approx(3 / 5)]


# --- random target ---------------------------------------------------------------------------


def test_random_target_same_target_is_identical() -> None:
    net = _net()
    x = torch.randn(1, 4, 16)
    result = random_target_test(net, x, (0, 1, 8), [(0, 1, 8)], "gradient")
    (same,) = result.similarities
    assert same.spearman_signed == pytest.approx(1.0)
    assert same.ssim == pytest.approx(1.0)
    assert same.top_k == 1.0
    assert json.loads(json.dumps(result.to_json()))["method"] == "gradient"


def test_random_target_of_disjoint_supports_is_dissimilar() -> None:
    linear = nn.Linear(12, 4, bias=False)
    with torch.no_grad():
        linear.weight.zero_()
        for row in range(4):
            linear.weight[row, 3 * row : 3 * row + 3] = torch.tensor([1.0, 2.0, 3.0])
    x = torch.randn(1, 12)
    result = random_target_test(linear, x, (0, 0), [(0, 1), (0, 3)], "gradient", k=3)
    for other in result.similarities:
        assert other.top_k == 0.0
        assert other.spearman_absolute < 0.5
    with pytest.raises(ValueError, match="other target"):
        random_target_test(linear, x, (0, 0), [], "gradient")


# --- deletion and insertion ------------------------------------------------------------------


class PositionLinear(nn.Module):
    """``y = Σ_c Σ_p w_p x[c, p]``, output shape ``(B, 1)``."""

    def __init__(self, weights: torch.Tensor) -> None:
        super().__init__()
        self.weights = weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weights).sum(dim=(1, 2))[:, None]


def test_deletion_and_insertion_by_hand() -> None:
    model = PositionLinear(torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=torch.float64))
    x = torch.ones(1, 2, 4, dtype=torch.float64)
    deletion = deletion_curve(model, x, (0, 0), [0, 1, 2, 3], 0.0)
    np.testing.assert_array_equal(deletion.fractions, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(deletion.values, [20, 12, 6, 2, 0])
    assert deletion.auc == pytest.approx(0.25 * (16 + 9 + 4 + 1))
    insertion = insertion_curve(model, x, (0, 0), [0, 1, 2, 3], 0.0)
    np.testing.assert_array_equal(insertion.values, [0, 8, 14, 18, 20])
    assert insertion.auc == pytest.approx(0.25 * (4 + 11 + 16 + 19))
    shuffled = deletion_curve(model, x, (0, 0), [2, 0, 3, 1], torch.full_like(x, 0.5))
    np.testing.assert_array_equal(shuffled.values, [20, 18, 14, 13, 10])
    coarse = deletion_curve(model, x, (0, 0), [0, 1, 2, 3], 0.0, steps=3, batch_size=2)
    np.testing.assert_array_equal(coarse.fractions, [0, 0.5, 1])
    np.testing.assert_array_equal(coarse.values, [20, 6, 0])
    encoded = json.loads(json.dumps(deletion.to_json()))
    assert encoded["values"] == [20, 12, 6, 2, 0] and encoded["auc"] == deletion.auc


def test_targets_and_position_axis() -> None:
    torch.manual_seed(0)
    model = PositionLinear(torch.randn(9, dtype=torch.float64))
    x = torch.randn(1, 3, 9, dtype=torch.float64)
    order = np.random.default_rng(0).permutation(9)
    want = deletion_curve(model, x, (0, 0), order, -1.0).values
    by_callable = deletion_curve(model, x, lambda out: out[:, 0], order, -1.0).values
    np.testing.assert_array_equal(by_callable, want)

    def keyed(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"y": model(x)}

    as_dict = deletion_curve(keyed, x, ("y", 0, 0), order, -1.0).values  # type: ignore[arg-type]
    np.testing.assert_array_equal(as_dict, want)

    def transposed(x: torch.Tensor) -> torch.Tensor:
        return model(x.transpose(1, 2))

    x_t = x.transpose(1, 2).contiguous()
    for axis in (1, -2):
        got = deletion_curve(transposed, x_t, (0, 0), order, -1.0, position_axis=axis)  # type: ignore[arg-type]
        np.testing.assert_allclose(got.values, want, rtol=1e-12)
    with pytest.raises(ValueError, match="batch"):
        deletion_curve(model, x, (0, 0), order, 0.0, position_axis=0)
    with pytest.raises(ValueError, match="permutation"):
        deletion_curve(model, x, (0, 0), [0, 1, 2], 0.0)
    with pytest.raises(ValueError, match="one value per sample"):
        deletion_curve(model, x, lambda out: out.sum(), order, 0.0)


def test_the_right_ranking_beats_random_and_reversed() -> None:
    rng = np.random.default_rng(1)
    weights = rng.normal(size=20)
    model = PositionLinear(torch.tensor(weights))
    x = torch.ones(1, 2, 20, dtype=torch.float64)
    result = perturbation_test(model, x, (0, 0), weights, 0.0, random_orders=6, seed=0)
    reversed_order = position_ranking(-weights)
    reversed_auc = deletion_curve(model, x, (0, 0), reversed_order, 0.0).auc
    assert result.deletion.auc < result.random_deletion.auc < reversed_auc
    assert result.insertion.auc > result.random_insertion.auc
    np.testing.assert_allclose(result.deletion.values[[0, -1]], [2 * weights.sum(), 0.0])
    encoded = json.loads(json.dumps(result.to_json()))
    assert set(encoded) == {"deletion", "insertion", "random_deletion", "random_insertion"}


def test_perturbation_progress_and_cancel() -> None:
    model = PositionLinear(torch.arange(6, dtype=torch.float64))
    x = torch.ones(1, 2, 6, dtype=torch.float64)
    fractions: list[float] = []
    perturbation_test(model, x, (0, 0), np.arange(6.0), 0.0, random_orders=2,
                      progress=fractions.append)  # fmt: skip
    np.testing.assert_allclose(fractions, np.arange(1, 7) / 6)  # 2 curves + 2 × 2 random
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 2

    with pytest.raises(AnalysisCancelledError):
        perturbation_test(model, x, (0, 0), np.arange(6.0), 0.0, cancelled=cancelled)
    assert len(polls) == 3


def test_rankings() -> None:
    scores = np.array([0.1, 3.0, 0.0, 3.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(position_ranking(scores), [1, 3, 6, 0, 2, 4, 5])
    broken = position_ranking(scores, np.random.default_rng(4))
    assert set(broken[:2]) == {1, 3} and list(broken[2:4]) == [6, 0]
    assert set(broken[4:]) == {2, 4, 5}
    assert sorted(random_ranking(7, np.random.default_rng(0))) == list(range(7))


# --- follow the attribution ------------------------------------------------------------------


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Softplus])
def test_slope_at_zero_is_the_directional_derivative(activation: type[nn.Module]) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), activation(), nn.Linear(16, 3)).double()
    x = torch.randn(1, 6, dtype=torch.float64)
    direction = torch.randn(1, 6, dtype=torch.float64)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(leaf)[0, 1], leaf)
    h = 1e-6
    curve = follow_the_attribution(net, x, (0, 1), direction, [-h, 0.0, h])
    slope = (curve.values[2] - curve.values[0]) / (2 * h)
    assert slope == pytest.approx(float((grad * direction).sum()), rel=1e-6)
    with torch.no_grad():
        assert curve.values[1] == pytest.approx(float(net(x)[0, 1]), rel=1e-12)
    assert json.loads(json.dumps(curve.to_json()))["epsilons"] == [-h, 0.0, h]


def test_default_epsilons() -> None:
    x = torch.full((1, 4), 2.0)  # norm 4
    direction = torch.full((1, 4), 0.5)  # norm 1
    epsilons = default_epsilons(direction, x, count=21)
    assert len(epsilons) == 21 and epsilons[10] == 0.0
    assert np.all(np.diff(epsilons) > 0)
    np.testing.assert_allclose(epsilons, -epsilons[::-1])
    assert epsilons[-1] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="odd"):
        default_epsilons(direction, x, count=20)
    with pytest.raises(ValueError, match="zero"):
        default_epsilons(torch.zeros(1, 4), x)
    net = nn.Linear(4, 2)
    curve = follow_the_attribution(net, x, lambda out: out[:, 0], direction, epsilons, batch_size=4)
    assert curve.values.shape == (21,)


# --- profiles --------------------------------------------------------------------------------


def test_distance_profile_against_a_loop() -> None:
    rng = np.random.default_rng(0)
    magnitude = rng.uniform(size=30)
    centres = [5, 17]
    distances, means = distance_profile(magnitude, centres)
    grouped: dict[int, list[float]] = {}
    for k in range(30):
        grouped.setdefault(min(abs(k - c) for c in centres), []).append(magnitude[k])
    np.testing.assert_array_equal(distances, sorted(grouped))
    np.testing.assert_allclose(means, [np.mean(grouped[d]) for d in sorted(grouped)])
    with pytest.raises(ValueError, match="centres"):
        distance_profile(magnitude, [30])


def test_feature_correlation_against_corrcoef() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 25))
    attribution = 0.5 * x + rng.normal(size=(4, 25))
    attribution[2] = 1.5  # a constant row has no correlation
    per_feature, overall = feature_correlation(attribution, x)
    for row in (0, 1, 3):
        assert per_feature[row] == pytest.approx(np.corrcoef(attribution[row], x[row])[0, 1])
    assert per_feature[2] == 0.0
    assert overall == pytest.approx(np.corrcoef(attribution.ravel(), x.ravel())[0, 1])
