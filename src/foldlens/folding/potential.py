r"""The energy a 3D model minimises: the distograms' negative log-likelihood plus geometry terms.

For map m (atoms a of residue i, b of residue j) with bin probabilities ``p_ijk`` the likelihood
term of a distance d is the negative log *density* at the bin centres ``c_k``::

    V_ij(c_k) = −log(p_ijk / w_k + ε),   w_k = 0.5 Å for every bin but the last,

linear in d between centres and constant beyond the first and last centre. The last bin holds
every distance ≥ 20 Å; its mass is spread over ``w_last`` = :data:`FAR_WIDTH` Å, so that a pair
whose distogram is undecided is pulled neither in nor out (a mass rather than a density would make
"≥ 20 Å" the likeliest place for every uncertain pair). ``ε = 10⁻⁴``. Summed over pairs i < j
(Cα–Cα, Cβ–Cβ: symmetric maps) or all i ≠ j (Cα–Cβ, Cβ–Cα)::

    E_likelihood = Σ_m Σ_pairs V^m_ij(|x^a_i − x^b_j|)

Geometry terms, harmonic in Å with weight ``k``:

- Cα stage: consecutive Cα at 3.80 Å; a clash term ``relu(4.0 − d)²`` for Cα pairs with
  |i − j| ≥ 2;
- backbone stage: the peptide bond C_i–N_{i+1} at 1.329 Å and the angles Cα_i–C_i–N_{i+1} and
  C_i–N_{i+1}–Cα_{i+1} through the distances Cα_i–N_{i+1} and C_i–Cα_{i+1} they fix; clashes of
  Cα pairs (|i − j| ≥ 2) closer than 3.0 Å and of Cβ pairs closer than 3.6 Å (the likelihood
  already keeps the rest of the backbone apart).
"""

from __future__ import annotations

import torch

from ..protein.labels import DISTANCE_CENTRES
from . import geometry
from .distograms import Distograms

EPSILON = 1e-4
BIN_WIDTH = 0.5
FAR_WIDTH = 10.0
BOND_WEIGHT = 100.0
CLASH_WEIGHT = 10.0
CA_CLASH = 4.0
BACKBONE_CLASH = 3.0
CB_CLASH = 3.6

_FIRST = float(DISTANCE_CENTRES[0])
_LAST_INDEX = len(DISTANCE_CENTRES) - 1


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(S, L, L)`` distances of ``(S, L, 3)`` coordinates, with a gradient defined at 0:
    ``√(|a|² + |b|² − 2 a·b)``."""
    squared = a.square().sum(-1)[:, :, None] + b.square().sum(-1)[:, None, :] - 2 * a @ b.mT
    return (squared.clamp(min=0) + 1e-6).sqrt()


class DistancePotential:
    """``Σ_pairs V_ij(d_ij)`` of one map (see the module docstring); ``symmetric`` maps count
    each pair once."""

    def __init__(self, probabilities: torch.Tensor, symmetric: bool) -> None:
        widths = torch.full((probabilities.shape[-1],), BIN_WIDTH)
        widths[-1] = FAR_WIDTH
        self.table = -torch.log(probabilities / widths + EPSILON)  # (L, L, bins)
        length = probabilities.shape[0]
        weights = 1.0 - torch.eye(length)
        self.weights = torch.triu(weights) if symmetric else weights

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``(S,)`` for coordinates ``a``, ``b`` ``(S, L, 3)`` of the map's two atoms."""
        position = ((_distances(a, b) - _FIRST) / BIN_WIDTH).clamp(0, _LAST_INDEX)
        low = position.detach().floor().long().clamp(max=_LAST_INDEX - 1)
        fraction = position - low
        table = self.table.expand(position.shape[0], -1, -1, -1)
        v0 = table.gather(3, low[..., None])[..., 0]
        v1 = table.gather(3, low[..., None] + 1)[..., 0]
        return ((v0 + fraction * (v1 - v0)) * self.weights).sum((1, 2))


def _harmonic(d: torch.Tensor, ideal: float) -> torch.Tensor:
    return ((d - ideal) ** 2).sum(-1)


def _consecutive(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lengths: torch.Tensor = (a[:, :-1] - b[:, 1:]).norm(dim=-1)
    return lengths


class FoldingPotential:
    """The energies of the Cα stage and the backbone stage for one protein's distograms."""

    def __init__(self, distograms: Distograms) -> None:
        p = distograms.probabilities
        self.ca_ca = DistancePotential(p["dist_ca_ca"], symmetric=True)
        self.ca_cb = DistancePotential(p["dist_ca_cb"], symmetric=False)
        self.cb_ca = DistancePotential(p["dist_cb_ca"], symmetric=False)
        self.cb_cb = DistancePotential(p["dist_cb_cb"], symmetric=True)
        self.far = torch.triu(torch.ones(len(distograms), len(distograms)), 2)

    def _clash(self, a: torch.Tensor, closest: float) -> torch.Tensor:
        return ((torch.relu(closest - _distances(a, a)) ** 2) * self.far).sum((1, 2))

    def ca_likelihood(self, ca: torch.Tensor) -> torch.Tensor:
        """``(S,)``: the Cα–Cα map's negative log-likelihood of traces ``(S, L, 3)``."""
        return self.ca_ca(ca, ca)

    def ca_energy(self, ca: torch.Tensor) -> torch.Tensor:
        """``(S,)``: the Cα stage's energy."""
        bonds = BOND_WEIGHT * _harmonic(_consecutive(ca, ca), geometry.CA_CA)
        return self.ca_likelihood(ca) + bonds + CLASH_WEIGHT * self._clash(ca, CA_CLASH)

    def likelihood(self, atoms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(S,)``: the four maps' negative log-likelihood of backbones (Cα and Cβ atoms)."""
        ca, cb = atoms["ca"], atoms["cb"]
        return self.ca_ca(ca, ca) + self.ca_cb(ca, cb) + self.cb_ca(cb, ca) + self.cb_cb(cb, cb)

    def energy(self, atoms: dict[str, torch.Tensor], stiffness: float = 1.0) -> torch.Tensor:
        """``(S,)``: the backbone stage's energy of :func:`.geometry.backbone_atoms`, the bonded
        terms' weight multiplied by ``stiffness``."""
        n, ca, c = atoms["n"], atoms["ca"], atoms["c"]
        bonded = (
            _harmonic(_consecutive(c, n), geometry.C_N)
            + _harmonic(_consecutive(ca, n), geometry.CA_N_NEXT)
            + _harmonic(_consecutive(c, ca), geometry.C_CA_NEXT)
        )
        clashes = self._clash(atoms["cb"], CB_CLASH) + self._clash(ca, BACKBONE_CLASH)
        return self.likelihood(atoms) + stiffness * BOND_WEIGHT * bonded + CLASH_WEIGHT * clashes
