"""Fold a protein's distograms into a backbone: Cα first, then rigid residues, mirror resolved.

1. **Cα stage.** ``starts`` traces — the MDS baseline (:func:`.baselines.mds_trace`), MDS of the
   geodesic distances (:func:`.baselines.geodesic_trace`) and copies of both with Gaussian noise of
   ``noise`` Å — minimise the Cα energy of :class:`.FoldingPotential` with Adam for ``ca_steps``
   steps (learning rate decaying from ``learning_rate`` Å to 1 % of it).
2. **Hand.** Distances cannot tell a trace from its mirror image. Residues built on it with an
   L-amino acid's ideal geometry can: the Cβ sits on one side of the mirrored trace and on the
   other of the original, so the Cα–Cβ, Cβ–Cα and Cβ–Cβ maps favour one hand. The ``keep``
   traces of lowest Cα likelihood go on in both hands.
3. **Backbone stage.** Each candidate becomes ideal rigid residues (:mod:`.geometry`, frames along
   the trace) that minimise the backbone energy over Cα positions and rotations for
   ``backbone_steps`` steps, the bonded terms stiffening tenfold on the way.

The model is the candidate of lowest four-map negative log-likelihood; the likelihood of the best
candidate of the other hand is kept, so a user sees how clearly the hand was decided. The noise
comes from a generator seeded with ``seed``, so a protein gets the same model every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..protein.structure import Backbone
from . import geometry
from .baselines import geodesic_trace, mds_trace
from .distograms import Distograms
from .potential import FoldingPotential

STIFFENING = 10.0
"""How much stiffer the bonded terms are at the end of the backbone stage than at its start: the
model first follows the distograms, then settles into ideal peptide geometry."""

Progress = Callable[[int, int], None]
"""Called with (steps done, steps in all); may raise to stop the folding."""


@dataclass(frozen=True)
class FoldSettings:
    """``starts`` Cα traces, of which the ``keep`` likeliest go on in both hands; steps of each
    stage; the Cα stage's Adam learning rate in Å (a quarter of it for the backbone stage, whose
    rotations need smaller steps); the starts' noise (Å) and its seed. Defaults: the product's,
    which fold 300 residues in about 13 s on 2 cores (``python -m benchmarks.folding``)."""

    starts: int = 8
    keep: int = 2
    ca_steps: int = 300
    backbone_steps: int = 200
    learning_rate: float = 1.0
    noise: float = 3.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.starts < 1 or self.keep < 1 or self.ca_steps < 0 or self.backbone_steps < 0:
            raise ValueError(f"fold settings need ≥ 1 start and ≥ 1 kept, got {self}")

    def total_steps(self) -> int:
        return self.ca_steps + self.backbone_steps


@dataclass(frozen=True)
class FoldedModel:
    """A backbone (atoms ``(L, 3)`` float32, Å) and how it was chosen.

    ``likelihood``: its four-map negative log-likelihood (lower is better);
    ``other_hand_likelihood``: the best candidate's of the mirror-image hand;
    ``start_likelihoods``: every Cα start's Cα-map negative log-likelihood after the Cα stage.
    """

    sequence: str
    atoms: dict[str, np.ndarray]
    likelihood: float
    other_hand_likelihood: float
    start_likelihoods: list[float] = field(default_factory=list)

    def backbone(self, chain: str = "A") -> Backbone:
        a = self.atoms
        return Backbone(chain, self.sequence, a["n"], a["ca"], a["c"], a["o"], a["cb"])


def _minimise(
    parameters: list[torch.Tensor],
    energy: Callable[[float], torch.Tensor],
    steps: int,
    learning_rate: float,
    step_done: Callable[[], None],
) -> None:
    optimiser = torch.optim.Adam(parameters, lr=learning_rate)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, steps, eta_min=learning_rate / 100
    )
    for step in range(steps):
        optimiser.zero_grad(set_to_none=True)
        energy(step / steps).sum().backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        decay.step()
        step_done()


def fold(
    distograms: Distograms, settings: FoldSettings | None = None, progress: Progress | None = None
) -> FoldedModel:
    """The 3D model of ``distograms`` (see the module docstring)."""
    settings = settings or FoldSettings()
    if len(distograms) < 3:
        raise ValueError("a 3D model needs at least 3 residues")
    potential = FoldingPotential(distograms)
    total, done = settings.total_steps(), [0]

    def step_done() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    with torch.enable_grad():
        generator = torch.Generator().manual_seed(settings.seed)
        centres = torch.stack([mds_trace(distograms), geodesic_trace(distograms)])
        centres = centres[: settings.starts]
        around = centres[torch.arange(max(0, settings.starts - len(centres))) % len(centres)]
        noise = torch.randn(around.shape, generator=generator)
        ca = torch.cat([centres, around + settings.noise * noise]).requires_grad_()
        _minimise([ca], lambda _: potential.ca_energy(ca), settings.ca_steps,
                  settings.learning_rate, step_done)  # fmt: skip
        with torch.no_grad():
            start_likelihoods = potential.ca_likelihood(ca)
        best = start_likelihoods.argsort()[: settings.keep]
        traces = ca.detach()[best]
        candidates = torch.cat([traces, geometry.mirror(traces)])
        hands = torch.tensor([0] * len(traces) + [1] * len(traces))
        positions = candidates.clone().requires_grad_()
        six = geometry.frames_along_trace(candidates).requires_grad_()
        _minimise(
            [positions, six],
            lambda fraction: potential.energy(
                geometry.backbone_atoms(positions, six), 1 + (STIFFENING - 1) * fraction
            ),
            settings.backbone_steps,
            settings.learning_rate / 4,
            step_done,
        )
    with torch.no_grad():
        atoms = geometry.backbone_atoms(positions, six)
        likelihoods = potential.likelihood(atoms)
    chosen = int(likelihoods.argmin())
    other = likelihoods[hands != hands[chosen]].min()
    centre = atoms["ca"][chosen].mean(0)
    return FoldedModel(
        sequence=distograms.sequence,
        atoms={n: (xyz[chosen] - centre).detach().numpy() for n, xyz in atoms.items()},
        likelihood=float(likelihoods[chosen]),
        other_hand_likelihood=float(other),
        start_likelihoods=[float(v) for v in start_likelihoods],
    )
