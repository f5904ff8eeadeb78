"""The categorical Jacobian's coupling map: against a loop written here over every single mutant,
on networks whose couplings are known by construction (which pairs interact, and a change the
centring must remove), and as an analysis of a job."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from foldlens.analysis.categorical_jacobian import AMINO_ACIDS, jacobian_couplings
from foldlens.coevolution.coupling_maps import average_product_correction
from polling import finish_task

LENGTH = 12


def one_hot(codes: list[int]) -> torch.Tensor:
    return nn.functional.one_hot(torch.tensor(codes), AMINO_ACIDS).T.float()[None]


def mutants_of(codes: list[int]):
    def build(changes: list[tuple[int, int]]) -> torch.Tensor:
        rows = []
        for position, letter in changes:
            changed = list(codes)
            changed[position] = letter
            rows.append(one_hot(changed))
        return torch.cat(rows)

    return build


def reference(model: nn.Module, codes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The module docstring written out: the whole Jacobian J[i, a, j, c] by a loop over mutants,
    each block centred by hand, norms, symmetrised, APC."""
    with torch.no_grad():
        base = model(one_hot(codes).double())[0].numpy()
        channels = base.shape[0]
        jacobian = np.zeros((LENGTH, AMINO_ACIDS, LENGTH, channels))
        for i in range(LENGTH):
            for a in range(AMINO_ACIDS):
                changed = list(codes)
                changed[i] = a
                out = model(one_hot(changed).double())[0].numpy()
                jacobian[i, a] = (out - base).T
    norms = np.zeros((LENGTH, LENGTH))
    for i in range(LENGTH):
        for j in range(LENGTH):
            block = jacobian[i, :, j, :]
            rows = block.mean(axis=1, keepdims=True)
            cols = block.mean(axis=0, keepdims=True)
            norms[i, j] = np.sqrt(((block - rows - cols + block.mean()) ** 2).sum())
    symmetric = (norms + norms.T) / 2
    np.fill_diagonal(symmetric, 0)
    return norms, average_product_correction(torch.from_numpy(symmetric)).numpy()


def random_codes(seed: int) -> list[int]:
    return np.random.default_rng(seed).integers(0, AMINO_ACIDS, LENGTH).tolist()


@pytest.mark.parametrize("batch", [1, 7, 64, 1000])
def test_the_map_equals_the_loop_over_every_mutant(batch: int) -> None:
    """A two-layer ReLU convolution (radius 3) with three output channels: the batched,
    row-by-row reduction against the whole Jacobian built by a loop (float64 both)."""
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv1d(AMINO_ACIDS, 8, 5, padding=2), nn.ReLU(), nn.Conv1d(8, 3, 3, padding=1)
    ).double()
    codes = random_codes(2)

    def outputs(x: torch.Tensor) -> torch.Tensor:
        return model(x.double())

    progress: list[int] = []
    norms, apc = jacobian_couplings(
        outputs,
        mutants_of(codes),
        one_hot(codes),
        codes,
        batch=batch,
        progress=lambda done, total: progress.append(done),
    )
    expected_norms, expected_apc = reference(model, codes)
    np.testing.assert_allclose(norms.numpy(), expected_norms, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(apc.numpy(), expected_apc, rtol=1e-10, atol=1e-12)
    assert progress[-1] == 19 * LENGTH and progress == sorted(progress)


def test_only_the_pairs_the_network_couples_have_a_coupling() -> None:
    """Output at j reads residue j and residue j + 3 only, through a product of their one-hot
    codes (an interaction no single residue explains): F[i, j] > 0 exactly when i = j or
    i = j + 3."""
    weights = torch.randn(AMINO_ACIDS, AMINO_ACIDS, generator=torch.Generator().manual_seed(3))

    def outputs(x: torch.Tensor) -> torch.Tensor:
        here = x[:, :, :-3]
        ahead = x[:, :, 3:]
        pair = torch.einsum("nal,ab,nbl->nl", here, weights, ahead)
        return nn.functional.pad(torch.stack([pair, -2 * pair], dim=1), (0, 3))

    codes = random_codes(4)
    norms, _ = jacobian_couplings(outputs, mutants_of(codes), one_hot(codes), codes)
    coupled = norms.numpy() > 1e-9
    expected = np.zeros((LENGTH, LENGTH), dtype=bool)
    for j in range(LENGTH - 3):
        expected[j, j] = expected[j + 3, j] = True
    assert (coupled == expected).all()


def test_a_change_the_same_for_every_output_channel_is_centred_away() -> None:
    """Output channels all shift by the same amount whatever the substitution (plus a
    substitution-independent part): the double centring leaves nothing."""
    shift = torch.randn(AMINO_ACIDS, generator=torch.Generator().manual_seed(5))

    def outputs(x: torch.Tensor) -> torch.Tensor:
        per_residue = torch.einsum("nal,a->nl", x, shift)
        total = per_residue.sum(dim=1, keepdim=True).expand(-1, LENGTH)
        return torch.stack([total, total, total], dim=1)

    codes = random_codes(6)
    norms, _ = jacobian_couplings(outputs, mutants_of(codes), one_hot(codes), codes)
    assert norms.abs().max() < 1e-9


def test_the_analysis_of_a_job(client: TestClient, job: dict) -> None:
    """The example 2o38B (structure, no MSA): the network's coupling map with its precision
    against the true contacts, and no DCA comparison (the job fitted no couplings)."""
    body = {
        "target": {"head": "ss3", "i": 10, "class": "H"},
        "analysis": "categorical_jacobian",
        "options": {"batch": 128},
    }
    answer = client.post(f"/api/jobs/{job['id']}/analyze", json=body)
    assert answer.status_code in (200, 202), answer.text
    task = finish_task(client, answer.json()["task"]) or {}
    assert task["states"]["categorical_jacobian"] == "done", task
    result = client.get(task["results"]["categorical_jacobian"]).json()
    length = job["length"]
    coupling = np.array(result["coupling"])
    assert coupling.shape == (length, length) and np.allclose(coupling, coupling.T, atol=1e-4)
    assert result["mutants"] == 19 * length and set(result["heads"]) == {"ss3", "ss8", "rsa"}
    assert 0 <= result["precision"]["jacobian"][">=6"] <= 1 and "dca" not in result
    assert result["receptive_radius"] > 0 and len(result["top_pairs"]) == 20
