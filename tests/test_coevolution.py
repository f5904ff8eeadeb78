"""Coevolution: the pseudo-likelihood Potts fit against a slow reference and on MSAs sampled from a
known model (planted couplings), Frobenius norms and APC against hand computations, sequence
weights against a loop, and ``foldlens couplings``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from foldlens.cli import main
from foldlens.coevolution import couplings
from foldlens.coevolution.coupling_maps import average_product_correction, frobenius
from foldlens.coevolution.potts import coupling_lambda, fit_potts, pseudo_likelihood_objective
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.msa import GAP, Alignment, parse_msa, sequence_weights


def slow_objective(
    codes: torch.Tensor,
    weights: torch.Tensor,
    fields: torch.Tensor,
    couplings: torch.Tensor,
    lambda_fields: float,
    lambda_couplings: float,
) -> torch.Tensor:
    """f(h, J) written out term by term: ``couplings`` ``(L, q, L, q)``."""
    count, length = codes.shape
    total = torch.zeros((), dtype=fields.dtype)
    for n in range(count):
        for i in range(length):
            logits = fields[i].clone()
            for j in range(length):
                if j != i:
                    logits = logits + couplings[i, :, j, codes[n, j]]
            total = total - weights[n] * torch.log_softmax(logits, 0)[codes[n, i]]
    penalty = lambda_fields * (fields**2).sum()
    for i in range(length):
        for j in range(length):
            if i != j:
                penalty = penalty + lambda_couplings / 2 * (couplings[i, :, j, :] ** 2).sum()
    return total + penalty


def random_symmetric(length: int, states: int, generator: torch.Generator) -> torch.Tensor:
    couplings = torch.randn(
        length, states, length, states, generator=generator, dtype=torch.float64
    )
    couplings = (couplings + couplings.permute(2, 3, 0, 1)) / 2
    for i in range(length):
        couplings[i, :, i, :] = 0
    return couplings


def test_the_objective_equals_the_slow_reference() -> None:
    generator = torch.Generator().manual_seed(0)
    length, states, count = 5, 4, 7
    codes = torch.randint(states, (count, length), generator=generator)
    weights = torch.rand(count, generator=generator, dtype=torch.float64)
    fields = torch.randn(length, states, generator=generator, dtype=torch.float64)
    coupled = random_symmetric(length, states, generator)
    fast = pseudo_likelihood_objective(
        codes, weights, fields, coupled.reshape(length * states, -1), 0.3, 0.7
    )
    slow = slow_objective(codes, weights, fields, coupled, 0.3, 0.7)
    assert float(fast) == pytest.approx(float(slow), rel=1e-12)


def test_the_fit_is_a_stationary_point_of_the_slow_objective() -> None:
    """At the returned optimum the reference objective's gradient (autograd through the loops,
    over the symmetric parameters) vanishes, relative to its size at the start."""
    generator = torch.Generator().manual_seed(1)
    length, states, count = 4, 3, 30
    codes = torch.randint(states, (count, length), generator=generator)
    weights = torch.rand(count, generator=generator) + 0.5
    fit = fit_potts(codes, weights, states, 500, 1e-7, dtype=torch.float64, relative_decrease=0.0)
    assert fit.converged
    lam = coupling_lambda(length, states)

    def gradient_size(fields: torch.Tensor, coupled: torch.Tensor) -> float:
        fields = fields.double().requires_grad_(True)
        free = coupled.double().requires_grad_(True)
        symmetric = (free + free.permute(2, 3, 0, 1)) / 2
        value = slow_objective(codes, weights.double(), fields, symmetric, 0.01, lam)
        grads = torch.autograd.grad(value, [fields, free])
        return max(float(g.abs().max()) for g in grads)

    start = gradient_size(torch.zeros(length, states), torch.zeros(length, states, length, states))
    at_optimum = gradient_size(fit.fields, fit.couplings)
    assert at_optimum < 1e-5 * start
    torch.testing.assert_close(fit.couplings, fit.couplings.permute(2, 3, 0, 1))
    for i in range(length):
        assert not fit.couplings[i, :, i, :].any()


def gibbs_sample(
    fields: torch.Tensor, coupled: torch.Tensor, count: int, sweeps: int, seed: int
) -> torch.Tensor:
    """``count`` sequences from P(x) ∝ exp(Σ h_i(x_i) + Σ_{i<j} J_ij(x_i, x_j)): ``sweeps``
    Gibbs sweeps over the columns, all chains at once, from uniform random states."""
    generator = torch.Generator().manual_seed(seed)
    length, states = fields.shape
    x = torch.randint(states, (count, length), generator=generator)
    for _ in range(sweeps):
        for i in range(length):
            logits = fields[i].expand(count, states).clone()
            for j in range(length):
                if j != i:
                    logits += coupled[i, :, j, :].T[x[:, j]]
            probabilities = torch.softmax(logits, dim=1)
            x[:, i] = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
    return x


def test_planted_couplings_are_recovered() -> None:
    """An MSA sampled from a Potts model with three strongly coupled pairs (each a permutation
    of the amino acids) among 14 columns: the three top APC pairs are the planted ones."""
    generator = torch.Generator().manual_seed(2)
    length, states = 14, len(AMINO_ACIDS) + 1
    fields = 0.5 * torch.randn(length, states, generator=generator)
    coupled = torch.zeros(length, states, length, states)
    planted = {(0, 9), (3, 11), (6, 7)}
    for i, j in planted:
        permutation = torch.randperm(states, generator=generator)
        coupled[i, torch.arange(states), j, permutation] = 2.5
        coupled[j, permutation, i, torch.arange(states)] = 2.5
    codes = gibbs_sample(fields, coupled, count=1500, sweeps=30, seed=3)
    rows = ["".join((AMINO_ACIDS + "-")[int(c)] for c in row) for row in codes]
    found = couplings(Alignment([f"s{k}" for k in range(len(rows))], rows))
    assert found.converged and found.sequences == 1500
    top = {(i, j) for i, j, _ in found.top(3, min_separation=1)}
    assert top == planted
    assert np.allclose(found.apc, found.apc.T) and not np.diag(found.apc).any()


def test_apc_against_a_hand_computation() -> None:
    norms = torch.tensor(
        [[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, 4.0, 5.0], [2.0, 4.0, 0.0, 6.0], [3.0, 5.0, 6.0, 0.0]],
        dtype=torch.float64,
    )
    # row means over j ≠ i: 2, 10/3, 4, 14/3; overall mean 21/6 = 3.5
    means = [2.0, 10 / 3, 4.0, 14 / 3]
    expected = torch.zeros(4, 4, dtype=torch.float64)
    for i in range(4):
        for j in range(4):
            if i != j:
                expected[i, j] = norms[i, j] - means[i] * means[j] / 3.5
    torch.testing.assert_close(average_product_correction(norms), expected)
    assert float(average_product_correction(norms)[0, 1]) == pytest.approx(1 - 2 * (10 / 3) / 3.5)


def test_frobenius_is_gauge_invariant_and_leaves_the_gap_out() -> None:
    """Adding u_i(a) + v_j(b) to J_ij(a, b) (a gauge change: same probabilities) or changing the
    gap state's couplings leaves the norm unchanged; the norm of a zero-sum block is its plain
    Frobenius norm."""
    generator = torch.Generator().manual_seed(4)
    length, states = 5, 21
    coupled = random_symmetric(length, states, generator)
    norms = frobenius(coupled)
    shifted = coupled.clone()
    u = torch.randn(length, states, generator=generator, dtype=torch.float64)
    shifted += u[:, :, None, None] + u.T[None, None, :, :].permute(0, 1, 3, 2)
    shifted[:, GAP] += 5.0
    torch.testing.assert_close(frobenius(shifted), norms)
    block = coupled[0, :20, 1, :20]
    centred = block - block.mean(0) - block.mean(1, keepdim=True) + block.mean()
    assert float(norms[0, 1]) == pytest.approx(float(centred.pow(2).sum().sqrt()))
    assert not norms.diagonal().any()


def test_sequence_weights_against_a_loop() -> None:
    """Identity over L counts identical amino acids (never gaps); a row counts itself even when
    its gaps keep it below 80 % identity with itself (the fragment here)."""
    rows = ["ACDEFGHIKL", "ACDEFGHIKV", "ACDEFGHIRV", "WWWWWWWWWW", "ACDEF-----", "ACDEFGHIKL"]
    alignment = Alignment([f"r{k}" for k in range(len(rows))], rows)
    expected = []
    for k, a in enumerate(rows):
        similar = sum(
            m == k or sum(x == y and x != "-" for x, y in zip(a, b, strict=True)) / len(a) >= 0.8
            for m, b in enumerate(rows)
        )
        expected.append(1 / similar)
    assert expected[4] == 1.0
    weights = sequence_weights(alignment.codes(), chunk=4)
    np.testing.assert_allclose(weights.numpy(), expected)
    assert np.isfinite(alignment.profile()).all()


def test_couplings_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generator = torch.Generator().manual_seed(5)
    length = 10
    fields = torch.randn(length, 21, generator=generator)
    codes = gibbs_sample(fields, torch.zeros(length, 21, length, 21), count=60, sweeps=5, seed=6)
    rows = ["".join((AMINO_ACIDS + "-")[int(c)] for c in row) for row in codes]
    rows[0] = rows[0].replace("-", "A")
    msa = tmp_path / "family.a3m"
    msa.write_text("".join(f">s{k}\n{row}\n" for k, row in enumerate(rows)))
    assert parse_msa(msa.read_text()).query == rows[0]
    assert main(["couplings", str(msa), "--out", str(tmp_path / "out")]) == 0
    with np.load(tmp_path / "out" / "couplings.npz") as saved:
        assert saved["apc"].shape == saved["frobenius"].shape == (length, length)
        assert float(saved["neff"]) <= 60 and int(saved["sequences"]) == 60
    assert (tmp_path / "out" / "couplings.png").stat().st_size > 0
    assert "Neff" in capsys.readouterr().out
    bad = tmp_path / "bad.a3m"
    bad.write_text(">q\nACDEFG\n>s\nACD\n")
    assert main(["couplings", str(bad), "--out", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("foldlens: error:") and "differ in length" in error
    assert len(error.splitlines()) == 1


def test_an_alignment_too_long_is_refused_with_the_reason() -> None:
    rows = ["A" * 301, "C" * 301]
    with pytest.raises(ValueError, match="at most 300 columns"):
        couplings(Alignment(["q", "r"], rows))


def test_columns_of_mostly_gaps_are_left_out_of_the_fit() -> None:
    """Columns with more than half gaps are not fitted and couple with nothing; the fit of the
    other columns equals the fit of the alignment without them."""
    rng = np.random.default_rng(3)
    rows = ["".join(rng.choice(list(AMINO_ACIDS), 12)) for _ in range(40)]
    gappy = [row[:4] + ("-" if k % 4 else row[4]) + row[5:] for k, row in enumerate(rows)]
    found = couplings(Alignment([f"r{k}" for k in range(40)], gappy), max_iterations=30)
    assert found.fitted.tolist() == [k != 4 for k in range(12)]
    assert not found.apc[4].any() and not found.apc[:, 4].any()
    without = [row[:4] + row[5:] for row in gappy]
    alone = couplings(Alignment([f"r{k}" for k in range(40)], without), max_iterations=30)
    kept = np.flatnonzero(found.fitted)
    np.testing.assert_array_equal(found.frobenius[np.ix_(kept, kept)], alone.frobenius)
    np.testing.assert_array_equal(found.apc[np.ix_(kept, kept)], alone.apc)
