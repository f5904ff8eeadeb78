"""How close a model is to a known structure: superposition, TM-score and lDDT (Cα atoms).

Residue i of the model corresponds to residue i of the reference (same sequence).

- **Superposition** (Kabsch 1976): the rotation R and translation minimising the (weighted)
  squared deviation: with centred coordinates, ``H = Σ w x yᵀ = U S Vᵀ``,
  ``R = V diag(1, 1, sign det(V Uᵀ)) Uᵀ``.
- **TM-score** (Zhang & Skolnick 2004), normalised by the reference's length L::

      TM = max over superpositions (1/L) Σ_i 1 / (1 + (d_i / d0)²),
      d0 = 1.24 (L − 15)^(1/3) − 1.8   (at least 0.5)

  The maximum is searched as the TM-score program does: superpose on every contiguous fragment
  of L, L/2, L/4, … down to 4 residues, then repeatedly on the residues within
  ``clip(d0, 4.5, 8)`` Å of the reference (widened by 0.5 Å until at least 3 remain), up to
  20 times or until that set stops changing; the best score seen is kept.
- **lDDT** (Mariani et al. 2013), Cα only, inclusion radius 15 Å: for residue i, over the
  pairs (i, j ≠ i) closer than 15 Å in the reference, the fraction whose distance in the model is
  within t of the reference's, averaged over t ∈ {0.5, 1, 2, 4} Å; the global score is the same
  fraction over all such pairs. Both in [0, 1] (NaN for a residue with no pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LDDT_RADIUS = 15.0
LDDT_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
TM_ITERATIONS = 20


@dataclass(frozen=True)
class Superposition:
    """``rotation`` (3, 3) and ``translation`` (3,) taking model coordinates onto the reference:
    ``x ↦ x @ rotation.T + translation``."""

    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, coordinates: np.ndarray) -> np.ndarray:
        moved: np.ndarray = coordinates @ self.rotation.T + self.translation
        return moved


def kabsch(model: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> Superposition:
    """Superpositions of ``model`` onto ``reference`` (``(..., L, 3)``) minimising the squared
    deviation weighted by ``weights`` ``(..., L)`` (batched over the leading dimensions)."""
    w = weights[..., None] / weights.sum(-1)[..., None, None]
    model_centre = (w * model).sum(-2)
    reference_centre = (w * reference).sum(-2)
    x = model - model_centre[..., None, :]
    y = reference - reference_centre[..., None, :]
    h = np.swapaxes(w * x, -1, -2) @ y
    u, _, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    flip = np.ones((*sign.shape, 3))
    flip[..., 2] = np.where(sign == 0, 1.0, sign)
    rotation = (v * flip[..., None, :]) @ np.swapaxes(u, -1, -2)
    translation = reference_centre - (rotation @ model_centre[..., None])[..., 0]
    return Superposition(rotation, translation)


def tm_d0(length: int) -> float:
    """The TM-score's distance scale d0 for a reference of ``length`` residues (Å)."""
    return max(0.5, 1.24 * np.cbrt(length - 15) - 1.8) if length > 15 else 0.5


def _seeds(length: int) -> np.ndarray:
    """Masks ``(S, L)`` of every contiguous fragment of L, L/2, L/4, … ≥ 4 residues (or L)."""
    sizes, size = [], length
    while size >= min(4, length):
        sizes.append(size)
        size //= 2
    masks = []
    for size in sizes:
        for start in range(length - size + 1):
            mask = np.zeros(length, dtype=bool)
            mask[start : start + size] = True
            masks.append(mask)
    return np.array(masks)


@dataclass(frozen=True)
class TMScore:
    score: float
    superposition: Superposition


def tm_score(model: np.ndarray, reference: np.ndarray) -> TMScore:
    """The TM-score of ``model`` against ``reference`` (``(L, 3)`` Cα each) and the superposition
    that gives it (see the module docstring)."""
    model, reference = np.asarray(model, np.float64), np.asarray(reference, np.float64)
    length = len(reference)
    if model.shape != reference.shape or length < 3:
        raise ValueError(
            f"need two (L, 3) traces with L ≥ 3, got {model.shape} and {reference.shape}"
        )
    d0 = tm_d0(length)
    cutoff = float(np.clip(d0, 4.5, 8.0))
    selected = _seeds(length)
    best_score, best = -1.0, Superposition(np.eye(3), np.zeros(3))
    for _ in range(TM_ITERATIONS):
        moves = kabsch(model, reference, selected.astype(np.float64))
        moved = model @ np.swapaxes(moves.rotation, -1, -2) + moves.translation[:, None, :]
        distances = np.linalg.norm(moved - reference, axis=-1)
        scores = (1.0 / (1.0 + (distances / d0) ** 2)).mean(-1)
        top = int(scores.argmax())
        if scores[top] > best_score:
            best_score = float(scores[top])
            best = Superposition(moves.rotation[top], moves.translation[top])
        within = _nearest(distances, cutoff)
        changed = (within != selected).any(-1)
        if not changed.any():
            break
        selected = within[changed]  # superpositions whose residue set settled are done
    return TMScore(best_score, best)


def _nearest(distances: np.ndarray, cutoff: float) -> np.ndarray:
    """Per row, the residues within ``cutoff`` Å, the cutoff widened by 0.5 Å until ≥ 3 are."""
    within = distances < cutoff
    widen = cutoff
    while (short := within.sum(-1) < 3).any():
        widen += 0.5
        within[short] = distances[short] < widen
    return within


def lddt(model: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-residue lDDT ``(L,)`` and the global lDDT of ``model`` against ``reference`` (Cα)."""
    model, reference = np.asarray(model, np.float64), np.asarray(reference, np.float64)
    true = np.linalg.norm(reference[:, None] - reference[None], axis=-1)
    ours = np.linalg.norm(model[:, None] - model[None], axis=-1)
    pairs = (true < LDDT_RADIUS) & ~np.eye(len(reference), dtype=bool)
    error = np.abs(ours - true)
    preserved = np.mean([(error < t) & pairs for t in LDDT_THRESHOLDS], axis=0)
    counts = pairs.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_residue = preserved.sum(-1) / counts
    total = counts.sum()
    return per_residue, float(preserved.sum() / total) if total else float("nan")
