"""The 3D model: geometry, potential, structure comparison and confidence, each against an
independent re-implementation or a hand-computed case, and folding distograms read off a real
structure back into it (right hand included)."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest
import torch

from foldlens.folding import geometry
from foldlens.folding.baselines import classical_mds, geodesic_distances, ideal_helix, random_coil
from foldlens.folding.comparison import kabsch, lddt, tm_d0, tm_score
from foldlens.folding.confidence import (
    Calibration,
    expected_error,
    fit_calibration,
    raw_lddt,
)
from foldlens.folding.distograms import Distograms
from foldlens.folding.fold import FoldSettings, fold
from foldlens.folding.potential import FAR_WIDTH, DistancePotential
from foldlens.models import adapter
from foldlens.protein.labels import DISTANCE_CENTRES, DISTANCE_EDGES, DISTANCE_MAPS
from foldlens.protein.structure import read_structure, virtual_cb


def _random_rotations(count: int, generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(count, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    return q * torch.sign(torch.linalg.det(q))[:, None, None]


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(cos))


@pytest.mark.parametrize("seed", [0, 1])
def test_rigid_residues_have_ideal_geometry_and_an_l_amino_acid_cb(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    ca = torch.randn(1, 12, 3, generator=generator) * 10
    six = torch.randn(1, 12, 6, generator=generator)
    atoms = {k: v[0].double().numpy() for k, v in geometry.backbone_atoms(ca, six).items()}
    frames = geometry.rotations(six)[0].double()
    assert torch.allclose(
        frames.mT @ frames, torch.eye(3, dtype=torch.float64).expand(12, 3, 3), atol=1e-5
    )
    assert torch.allclose(torch.linalg.det(frames), torch.ones(12, dtype=torch.float64), atol=1e-5)
    n, a, c = atoms["n"], atoms["ca"], atoms["c"]
    assert np.allclose(np.linalg.norm(n - a, axis=-1), 1.458, atol=1e-4)
    assert np.allclose(np.linalg.norm(c - a, axis=-1), 1.525, atol=1e-4)
    assert np.allclose(_angle(n, a, c), 111.2, atol=1e-3)
    # Cβ is the structure module's ideal Cβ, an independent formula of N, Cα and C
    assert np.allclose(atoms["cb"], virtual_cb(n, a, c), atol=1e-4)
    assert np.allclose(np.linalg.norm(atoms["o"] - c, axis=-1), 1.231, atol=1e-4)


def test_the_carbonyl_oxygen_lies_in_the_peptide_plane() -> None:
    helix = ideal_helix(8)[None]
    atoms = geometry.backbone_atoms(helix, geometry.frames_along_trace(helix))
    ca, c, o = (atoms[k][0, :-1].double() for k in ("ca", "c", "o"))
    n_next = atoms["n"][0, 1:].double()
    normal = torch.linalg.cross(ca - c, n_next - c)
    assert torch.allclose(
        (normal * (o - c)).sum(-1), torch.zeros(7, dtype=torch.float64), atol=1e-4
    )


def test_the_mirror_of_a_trace_keeps_its_distances_but_turns_its_helices() -> None:
    helix = ideal_helix(10)
    mirrored = geometry.mirror(helix)
    assert torch.allclose(_pairwise(helix), _pairwise(mirrored), atol=1e-4)

    def handedness(trace: torch.Tensor) -> float:
        a, b, c = trace[1] - trace[0], trace[2] - trace[1], trace[3] - trace[2]
        return float(torch.dot(torch.linalg.cross(a, b), c))

    assert handedness(helix) * handedness(mirrored) < 0


def _potential_by_loop(p: np.ndarray, a: np.ndarray, b: np.ndarray, symmetric: bool) -> float:
    widths = np.full(p.shape[-1], 0.5)
    widths[-1] = FAR_WIDTH
    total = 0.0
    for i in range(len(a)):
        for j in range(len(b)):
            if i == j or (symmetric and j < i):
                continue
            values = -np.log(p[i, j] / widths + 1e-4)
            total += np.interp(np.linalg.norm(a[i] - b[j]), DISTANCE_CENTRES, values)
    return total


@pytest.mark.parametrize("symmetric", [True, False])
def test_the_distance_potential_is_the_interpolated_negative_log_density(symmetric: bool) -> None:
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(len(DISTANCE_CENTRES)) * 0.3, size=(7, 7)).astype(np.float32)
    a, b = (
        (rng.normal(size=(7, 3)) * 8).astype(np.float32),
        (rng.normal(size=(7, 3)) * 8).astype(np.float32),
    )
    potential = DistancePotential(torch.from_numpy(p), symmetric)
    ours = float(potential(torch.from_numpy(a)[None], torch.from_numpy(b)[None])[0])
    assert ours == pytest.approx(_potential_by_loop(p, a, b, symmetric), rel=1e-4)


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    return (x[:, None] - x[None]).norm(dim=-1)


def test_classical_mds_recovers_a_structure_up_to_a_rigid_motion_or_mirror() -> None:
    coil = random_coil(40, seed=1)
    recovered = classical_mds(_pairwise(coil))
    assert torch.allclose(_pairwise(recovered), _pairwise(coil), atol=1e-3)


def test_geodesic_distances_are_shortest_paths() -> None:
    line = torch.arange(5, dtype=torch.float32)[:, None] * torch.tensor([[10.0, 0, 0]])
    compressed = _pairwise(line).clamp(max=20.0)
    assert torch.allclose(geodesic_distances(compressed, edge=12.0), _pairwise(line))


def test_kabsch_finds_the_rotation_and_translation() -> None:
    rotation = _random_rotations(1, torch.Generator().manual_seed(0))[0].numpy()
    x = random_coil(30, seed=2).double().numpy()
    y = x @ rotation.T + np.array([1.0, -2.0, 3.0])
    found = kabsch(x, y, np.ones(30))
    assert np.allclose(found.rotation, rotation, atol=1e-8)
    assert np.allclose(found.apply(x), y, atol=1e-8)


def test_tm_score_of_a_rigid_copy_is_one_and_of_two_separated_halves_as_computed_by_hand() -> None:
    x = random_coil(60, seed=4).double().numpy()
    rotation = _random_rotations(1, torch.Generator().manual_seed(5))[0].numpy()
    assert tm_score(x @ rotation.T + 7.0, x).score == pytest.approx(1.0, abs=1e-9)
    shift = 200.0
    moved = x.copy()
    moved[30:] += np.array([shift, 0.0, 0.0])
    d0 = tm_d0(60)
    assert d0 == pytest.approx(1.24 * 45 ** (1 / 3) - 1.8)
    assert tm_score(moved, x).score == pytest.approx(0.5 + 0.5 / (1 + (shift / d0) ** 2), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_tm_score_agrees_with_tm_align_on_the_identity_alignment(seed: int) -> None:
    tmtools = pytest.importorskip("tmtools")
    rng = np.random.default_rng(seed)
    x = random_coil(80, seed=seed).double().numpy()
    y = x + rng.normal(size=x.shape) * (1.0 + 2.0 * seed)
    y[: 10 * seed] += 15.0  # a displaced end the superposition search has to give up
    sequence = "A" * len(x)
    oracle = tmtools.tm_align(y, x, sequence, sequence, [sequence, sequence]).tm_norm_chain2
    assert tm_score(y, x).score == pytest.approx(oracle, abs=0.01)


def test_lddt_of_a_hand_computed_case() -> None:
    reference = np.array([[0.0, 0, 0], [5.0, 0, 0], [10.0, 0, 0], [40.0, 0, 0]])
    model = np.array([[0.0, 0, 0], [5.0, 0, 0], [11.0, 0, 0], [90.0, 0, 0]])
    per_residue, overall = lddt(model, reference)
    # pairs within 15 Å: (0,1) error 0, (0,2) error 1, (1,2) error 1; residue 3 has none
    assert per_residue[:3] == pytest.approx([0.75, 0.75, 0.5])
    assert math.isnan(per_residue[3])
    assert overall == pytest.approx((2 / 6 + 2 / 6 + 1 + 1) / 4)


def test_expected_error_of_a_distogram_by_hand() -> None:
    p = torch.zeros(len(DISTANCE_CENTRES))
    p[6], p[10] = 0.5, 0.5  # centres 5.25 and 7.25 Å
    assert float(expected_error(p)) == pytest.approx(1.0)
    assert float(expected_error(torch.eye(len(DISTANCE_CENTRES))[4])) == 0.0


def test_raw_lddt_against_sampled_distances() -> None:
    """Each bin read as a uniform 0.5 Å interval: compare the closed form with a fine grid."""
    rng = np.random.default_rng(7)
    length = 5
    p = rng.dirichlet(np.ones(len(DISTANCE_CENTRES)) * 0.5, size=(length, length))
    grid = (np.arange(2000) + 0.5) / 2000 - 0.5  # offsets within a bin, in bin widths
    expected = np.zeros(length)
    for i in range(length):
        weights, scores = [], []
        for j in range(length):
            if i == j:
                continue
            mean = (p[i, j] * DISTANCE_CENTRES).sum()
            distances = DISTANCE_CENTRES[:, None] + 0.5 * grid[None]
            within = np.mean(
                [(np.abs(distances - mean) < t).mean(-1) @ p[i, j] for t in (0.5, 1, 2, 4)]
            )
            weights.append(p[i, j][DISTANCE_CENTRES < 15].sum())
            scores.append(within)
        expected[i] = np.dot(weights, scores) / np.sum(weights)
    ours = raw_lddt(torch.from_numpy(p)).numpy()
    assert np.allclose(ours, expected, atol=2e-3)
    rows = torch.tensor([3, 1])
    assert np.allclose(raw_lddt(torch.from_numpy(p[[3, 1]]), rows).numpy(), ours[[3, 1]], atol=1e-9)


def test_a_calibration_is_monotone_differentiable_and_checked_when_read() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 5000)
    true = np.clip(0.2 + 0.6 * raw**2 + rng.normal(0, 0.1, raw.shape), 0, 1)
    calibration = fit_calibration(raw, true)
    assert calibration.lddt == sorted(calibration.lddt)
    values = torch.tensor([0.1, 0.5, 0.9], requires_grad=True)
    mapped = calibration(values)
    assert np.allclose(
        mapped.detach().numpy() / 100, 0.2 + 0.6 * values.detach().numpy() ** 2, atol=0.05
    )
    mapped.sum().backward()
    assert values.grad is not None and (values.grad > 0).all()
    assert Calibration.from_json(calibration.to_json()) == calibration
    with pytest.raises(ValueError, match="monotone"):
        Calibration.from_json('{"raw": [0, 1], "lddt": [1, 0]}')
    with pytest.raises(ValueError, match="increasing"):
        Calibration.from_json('{"raw": [1, 0], "lddt": [0, 1]}')


def _sharp_distograms(structure_text: str) -> tuple[Distograms, np.ndarray]:
    """Distograms that put each pair's mass in the bin of its true distance."""
    backbone = read_structure(structure_text)
    maps = backbone.distance_maps()
    bins = len(DISTANCE_CENTRES)
    probabilities = {}
    for name in DISTANCE_MAPS:
        index = torch.bucketize(
            torch.from_numpy(maps[name]), torch.from_numpy(DISTANCE_EDGES), right=True
        )
        probabilities[name] = torch.nn.functional.one_hot(index, bins).float() * 0.96 + 0.04 / bins
    return Distograms(backbone.sequence, probabilities), backbone.ca


def test_folding_true_distograms_recovers_the_structure_in_the_right_hand() -> None:
    text = (resources.files("foldlens.resources") / "examples" / "1k61C.pdb").read_text()
    distograms, truth = _sharp_distograms(text)
    model = fold(distograms, FoldSettings(starts=4, keep=1, ca_steps=200, backbone_steps=150))
    found = model.atoms["ca"]
    assert tm_score(found, truth).score > 0.8
    assert tm_score(geometry.mirror(torch.from_numpy(found)).numpy(), truth).score < 0.6
    assert model.likelihood < model.other_hand_likelihood
    bonds = np.linalg.norm(model.atoms["n"][1:] - model.atoms["c"][:-1], axis=-1)
    assert np.sqrt(np.mean((bonds - geometry.C_N) ** 2)) < 0.06  # peptide bonds near ideal


def test_the_shipped_calibration_belongs_to_the_shipped_weights() -> None:
    """Retraining without recalibrating would fall back to the raw score: catch it here."""
    calibration = adapter("default").confidence_calibration()
    assert calibration.calibrated
    assert calibration.lddt == sorted(calibration.lddt) and calibration.raw == sorted(
        calibration.raw
    )
    assert calibration.fitted_on["split"] == "valid"
