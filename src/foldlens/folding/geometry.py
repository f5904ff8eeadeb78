"""Backbones of rigid residues with ideal geometry.

Each residue is a rigid frame: its Cα at ``t`` and a rotation ``R``. In the frame, Cα is the
origin, C lies on the x axis and N in the xy plane (Engh & Huber bond lengths and angle)::

    C  = (1.525, 0, 0)
    N  = 1.458 (cos 111.2°, sin 111.2°, 0)
    Cβ = −0.58273431 a + 0.56802827 b − 0.54067466 c,   b = Cα − N, c = C − Cα, a = b × c

(the ideal Cβ of :func:`foldlens.protein.structure.virtual_cb`, an L-amino acid's). An atom at
local ``x`` sits at ``t + R x``. The carbonyl O of residue i lies in the peptide plane, 1.231 Å
from C_i along the bisector of the angle Cα_i–C_i–N_{i+1} turned outwards::

    O_i = C_i + 1.231 · unit(unit(C_i − Cα_i) + unit(C_i − N_{i+1}))

and for the last residue at its ideal local position with ψ = 180° (in the frame's xy plane,
120.5° from Cα at C, on N's side). Rotations are parameterised by two vectors (Zhou et al. 2019,
the continuous 6D representation): ``R = [e1 e2 e3]``, ``e1 = unit(a1)``,
``e2 = unit(a2 − (e1·a2) e1)``, ``e3 = e1 × e2``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

N_CA = 1.458
CA_C = 1.525
C_O = 1.231
C_N = 1.329
"""The peptide bond C_i–N_{i+1} (Å)."""
CA_CA = 3.80
"""Consecutive Cα atoms of a trans peptide (Å)."""
N_CA_C = math.radians(111.2)
CA_C_N = math.radians(116.2)
C_N_CA = math.radians(121.7)
CA_C_O = math.radians(120.5)


def _ideal_residue() -> dict[str, np.ndarray]:
    n = N_CA * np.array([math.cos(N_CA_C), math.sin(N_CA_C), 0.0])
    c = np.array([CA_C, 0.0, 0.0])
    b, cc = -n, c
    a = np.cross(b, cc)
    cb = -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc
    turn = math.pi - CA_C_O
    o = c + C_O * np.array([math.cos(turn), math.sin(turn), 0.0])
    return {"n": n, "c": c, "cb": cb, "o": o}


IDEAL = {name: torch.tensor(xyz, dtype=torch.float32) for name, xyz in _ideal_residue().items()}
"""Local coordinates of N, C, Cβ and (for a last residue) O; Cα is the origin."""


def law_of_cosines(a: float, b: float, angle: float) -> float:
    """The third side of a triangle with sides ``a``, ``b`` enclosing ``angle`` (radians)."""
    return math.sqrt(a * a + b * b - 2 * a * b * math.cos(angle))


CA_N_NEXT = law_of_cosines(CA_C, C_N, CA_C_N)
"""Cα_i–N_{i+1} (Å): fixes the angle Cα_i–C_i–N_{i+1}."""
C_CA_NEXT = law_of_cosines(C_N, N_CA, C_N_CA)
"""C_i–Cα_{i+1} (Å): fixes the angle C_i–N_{i+1}–Cα_{i+1}."""


def rotations(six: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``(..., 3, 3)`` (columns e1, e2, e3) from ``(..., 6)`` (see the module)."""
    a1, a2 = six[..., :3], six[..., 3:]
    e1 = torch.nn.functional.normalize(a1, dim=-1)
    e2 = torch.nn.functional.normalize(a2 - (e1 * a2).sum(-1, keepdim=True) * e1, dim=-1)
    e3 = torch.linalg.cross(e1, e2)
    return torch.stack([e1, e2, e3], dim=-1)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(v, dim=-1)


def backbone_atoms(ca: torch.Tensor, six: torch.Tensor) -> dict[str, torch.Tensor]:
    """N, Cα, C, O and Cβ ``(..., L, 3)`` of residues at ``ca`` ``(..., L, 3)`` turned by the
    rotations of ``six`` ``(..., L, 6)``."""
    frames = rotations(six)

    def place(name: str) -> torch.Tensor:
        return ca + frames @ IDEAL[name].to(ca)

    n, c, cb = place("n"), place("c"), place("cb")
    peptide = c[..., :-1, :] + C_O * _unit(
        _unit(c[..., :-1, :] - ca[..., :-1, :]) + _unit(c[..., :-1, :] - n[..., 1:, :])
    )
    o = torch.cat([peptide, place("o")[..., -1:, :]], dim=-2)
    return {"n": n, "ca": ca, "c": c, "o": o, "cb": cb}


def frames_along_trace(ca: torch.Tensor) -> torch.Tensor:
    """Initial ``six`` ``(..., L, 6)`` for a Cα trace: C points to the next Cα, N lies in the
    plane of the previous one (the ends copy their neighbour's frame)."""
    forward = _unit(ca[..., 2:, :] - ca[..., 1:-1, :])
    backward = _unit(ca[..., :-2, :] - ca[..., 1:-1, :])
    inner = torch.cat([forward, backward], dim=-1)
    return torch.cat([inner[..., :1, :], inner, inner[..., -1:, :]], dim=-2)


def mirror(coordinates: torch.Tensor) -> torch.Tensor:
    """The mirror image (x → −x)."""
    return coordinates * torch.tensor([-1.0, 1.0, 1.0], dtype=coordinates.dtype)
