"""reprof's single-sequence secondary-structure predictor, ported to PyTorch.

reprof (Hönigschmid & Rost, Rost lab; Debian packages ``reprof`` and ``librg-reprof-bundle-perl``,
GPL-3) predicts 3-state secondary structure with a two-stage cascade of FANN perceptrons. This
module reads the networks from the Debian package's ``.model`` and ``.features`` files at run
time (default :data:`MODEL_DIR`); no weights are copied into foldlens. Install them with
``apt-get install librg-reprof-bundle-perl``.

Every network is a FANN 3-layer perceptron with FANN's sigmoid at steepness ``s = 0.5`` on both
layers, ``σ(2 s z) = 1 / (1 + e^{−z})``, so ``net(x) = σ(W₂ σ(W₁ x + b₁) + b₂)``. The port follows
``RG/Reprof.pm`` and ``RG/Reprof/fasta.pm`` of the Debian package (version 1.0.1). For a chain of
length ``L``, residue ``i`` (0-based) gets, in the order of each network's ``.features`` file:

- ``aa_composition`` (21): the chain's amino-acid counts over ``L``, order ARNDCQEGHILKMFPSTWYV,
  then X (always 0 here);
- ``length_4state`` (4): for ``k = 0..3``, 1 if ``L ≥ 60·2^k``, else
  ``max(0, (L − 30·2^k) / (60·2^k))``; the ramp stops near 0.5 and then jumps to 1;
- ``distanceN`` (4): the same ramp on ``d = i`` with ``10·2^k`` in place of ``60·2^k``;
- ``distanceC`` (4): the same ramp on ``d = L − 1 − i``;
- ``profile`` (20 per window position): the one-hot residue;
- ``in_sequence_bit`` (1 per window position): 1 inside the chain;
- ``output`` (3 per window position, second stage only): the raw outputs of a first-stage network.

A feature with window ``w`` is the concatenation of the vectors at ``i − (w−1)/2 … i + (w−1)/2``;
positions outside the chain are zeros. The first stage runs ``fu`` (window 19, 432 → 120 → 3) and
``fb`` (window 13, 306 → 90 → 3); the second stage runs ``fuu`` and ``fub`` on ``fu``'s outputs and
``fbu`` and ``fbb`` on ``fb``'s. The jury divides each second-stage output by its sum and averages
the four: ``p = ¼ Σ_n o_n / Σ_c o_{n,c}``, in class order H, E, L (loop, foldlens' C). reprof calls
the argmax (first of ties) the state; its printed ``pH pE pL`` are ``⌊100 p⌋`` and its reliability
``RI_S`` is ``⌊10 (p_max − p_second)⌋``.

FANN (``libdoublefann``, which reprof's Perl binding links) computes in double precision; so does
this port, and it reproduces the ``reprof`` command's single-sequence output (state, ``RI_S``,
``pH pE pL``) on real chains. Not ported: FANN's clipping of ``s z`` to ``±150 / s`` (so
``|z| ≤ 600``), which moves a sigmoid by less than ``e^{−600}``; reprof's accessibility network
``fa`` and its profile-based networks (BLAST PSSM input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..protein.alphabet import one_hot

MODEL_DIR = Path("/usr/share/reprof")
STAGE1 = ("fu", "fb")
JURY = {"fuu": "fu", "fub": "fu", "fbu": "fb", "fbb": "fb"}
FEATURE_SIZES = {
    "aa_composition": 21,
    "length_4state": 4,
    "distanceN": 4,
    "distanceC": 4,
    "profile": 20,
    "in_sequence_bit": 1,
    "output": 3,
}  # values per window position
FANN_SIGMOID = 3
FANN_STEEPNESS = 0.5

_TUPLE = re.compile(r"\(([^)]*)\)")


@dataclass(frozen=True)
class Feature:
    """One input block of a network: ``name`` (a ``fasta`` feature or ``"output"``) and the odd
    ``window`` of residues it spans, centred on the predicted residue."""

    name: str
    window: int


def read_features(path: Path) -> list[Feature]:
    """The input blocks of a reprof ``.features`` file, in input order.

    Lines ``input <source> <feature> <window>`` with source ``fasta`` (a feature of
    :data:`FEATURE_SIZES`) or ``output`` (the first-stage network's outputs) become features;
    other lines (options, the training target) are skipped.
    """
    features = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) != 4 or fields[0] != "input":
            continue
        source, name, window = fields[1], fields[2], int(fields[3])
        if source == "output":
            name = "output"
        elif source != "fasta" or name not in FEATURE_SIZES or name == "output":
            raise ValueError(f"{path}: unsupported input {source} {name}")
        if window % 2 != 1:
            raise ValueError(f"{path}: window {window} of {name} is not odd")
        features.append(Feature(name, window))
    return features


def read_fann(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(weight, bias)`` of each layer of a fully connected FANN_FLO_2.1 network file.

    FANN stores every neuron's incoming weights in order, the bias neuron (value 1) of the
    previous layer last; layer sizes count one bias neuron per layer. Only layered, fully
    connected networks with sigmoid activations of steepness 0.5 are accepted (reprof's kind).
    """
    text = path.read_text()
    if not text.startswith("FANN_FLO_2.1"):
        raise ValueError(f"{path} is not a FANN_FLO_2.1 network file")
    entries = dict(line.split("=", 1) for line in text.splitlines()[1:] if "=" in line)
    if entries["network_type"] != "0" or float(entries["connection_rate"]) != 1.0:
        raise ValueError(f"{path} is not a layered, fully connected network")
    sizes = [int(size) for size in entries["layer_sizes"].split()]
    neurons = [tup.split(",") for tup in _TUPLE.findall(entries[_key(entries, "neurons")])]
    connections = [tup.split(",") for tup in _TUPLE.findall(entries[_key(entries, "connections")])]
    targets = np.array([int(source) for source, _ in connections])
    weights = np.array([float(weight) for _, weight in connections])
    layers = []
    first_neuron, first_con = sizes[0], 0
    for before, size in pairwise(sizes):
        units = neurons[first_neuron : first_neuron + size - 1]  # the last one is the bias
        if any(
            (int(n), int(f), float(s)) != (before, FANN_SIGMOID, FANN_STEEPNESS)
            for n, f, s in units
        ):
            raise ValueError(f"{path}: a neuron is not a fully connected sigmoid (steepness 0.5)")
        count = (size - 1) * before
        expected = np.tile(np.arange(first_neuron - before, first_neuron), size - 1)
        if not np.array_equal(targets[first_con : first_con + count], expected):
            raise ValueError(f"{path}: connections are not in layer order")
        block = weights[first_con : first_con + count].reshape(size - 1, before)
        layers.append((block[:, :-1], block[:, -1]))
        first_neuron, first_con = first_neuron + size, first_con + count
    if first_con != len(weights):
        raise ValueError(f"{path}: {len(weights) - first_con} connections left over")
    return layers


def _key(entries: dict[str, str], prefix: str) -> str:
    return next(key for key in entries if key.startswith(prefix))


class ReprofNetwork(nn.Module):
    """One reprof perceptron, ``σ(W₂ σ(W₁ x + b₁) + b₂)`` in float64 on ``(..., inputs)``."""

    def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(inputs, hidden, dtype=torch.float64)
        self.output = nn.Linear(hidden, outputs, dtype=torch.float64)

    @classmethod
    def from_fann(cls, path: Path) -> ReprofNetwork:
        """The network stored in a FANN ``.model`` file (see :func:`read_fann`)."""
        (w1, b1), (w2, b2) = read_fann(path)
        network = cls(w1.shape[1], w1.shape[0], w2.shape[0])
        with torch.no_grad():
            for linear, w, b in ((network.hidden, w1, b1), (network.output, w2, b2)):
                linear.weight.copy_(torch.from_numpy(w))
                linear.bias.copy_(torch.from_numpy(b))
        return network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.output(torch.sigmoid(self.hidden(x))))


def _ramp(values: torch.Tensor, step: int) -> torch.Tensor:
    """reprof's 4-state ramp of ``values`` (any shape) → ``(..., 4)``: for ``k = 0..3`` and
    ``t = step·2^k``, 1 if ``v ≥ t`` else ``max(0, (v − t/2) / t)``."""
    scale = step * 2.0 ** torch.arange(4, dtype=torch.float64, device=values.device)
    v = values.to(torch.float64)[..., None]
    return torch.where(v >= scale, 1.0, ((v - scale / 2) / scale).clamp(min=0))


def _windows(feature: torch.Tensor, window: int) -> torch.Tensor:
    """``(B, D, L)`` → ``(B, L, window·D)``: each residue's window of vectors, zeros outside."""
    half = (window - 1) // 2
    padded = F.pad(feature, (half, half))
    return padded.unfold(2, window, 1).permute(0, 2, 3, 1).flatten(2)


class Reprof(nn.Module):
    """reprof's single-sequence cascade: ``(B, 20, L)`` one-hot → ``(B, 3, L)`` jury
    probabilities (H, E, C).

    The one-hot rows follow ARNDCQEGHILKMFPSTWYV (foldlens' and reprof's order); all chains of a
    batch have the same length ``L``. The composition input is the one-hot's mean over the chain,
    so gradients reach every residue through it as well as through the windows.
    """

    def __init__(
        self, networks: dict[str, ReprofNetwork], features: dict[str, list[Feature]]
    ) -> None:
        super().__init__()
        self.networks = nn.ModuleDict(networks)
        self.features = features

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR) -> Reprof:
        """Read ``fu fb fuu fub fbu fbb`` (``.model`` and ``.features``) from ``model_dir``."""
        networks, features = {}, {}
        for name in (*STAGE1, *JURY):
            model, spec = model_dir / f"{name}.model", model_dir / f"{name}.features"
            for path in (model, spec):
                if not path.is_file():
                    raise FileNotFoundError(
                        f"reprof's network file {path} is missing: install the Debian package "
                        "librg-reprof-bundle-perl (apt-get install librg-reprof-bundle-perl) or "
                        "pass the folder that holds its .model and .features files"
                    )
            networks[name] = ReprofNetwork.from_fann(model)
            features[name] = read_features(spec)
            width = sum(f.window * FEATURE_SIZES[f.name] for f in features[name])
            if width != networks[name].hidden.in_features:
                raise ValueError(f"{spec} describes {width} inputs, not those of {model}")
        return cls(networks, features).eval()

    def _inputs(
        self, name: str, x: torch.Tensor, previous: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, length = x.shape[0], x.shape[2]
        position = torch.arange(length, device=x.device)
        composition = F.pad(x.sum(dim=2) / length, (0, 1))  # X, the 21st state, is never present
        blocks = {
            "aa_composition": composition[:, :, None].expand(-1, -1, length),
            "length_4state": _ramp(torch.tensor(length, device=x.device), 60)[None, :, None],
            "distanceN": _ramp(position, 10).T[None],
            "distanceC": _ramp(length - 1 - position, 10).T[None],
            "profile": x,
            "in_sequence_bit": torch.ones(1, 1, length, dtype=x.dtype, device=x.device),
        }
        if previous is not None:
            blocks["output"] = previous
        parts = [
            _windows(blocks[f.name].expand(batch, -1, length), f.window)
            for f in self.features[name]
        ]
        return torch.cat(parts, dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float64)
        first = {
            name: self.networks[name](self._inputs(name, x)).transpose(1, 2) for name in STAGE1
        }
        jury = torch.zeros(x.shape[0], x.shape[2], 3, dtype=torch.float64, device=x.device)
        for name, source in JURY.items():
            out = self.networks[name](self._inputs(name, x, first[source]))
            jury = jury + out / (out[..., 0:1] + out[..., 1:2] + out[..., 2:3])
        return (jury / len(JURY)).transpose(1, 2)

    def predict_ss3(self, sequence: str) -> np.ndarray:
        """``(L, 3)`` float64 probabilities H, E, C of one sequence (letters of
        ARNDCQEGHILKMFPSTWYV; a ``ValueError`` names any other); rows sum to 1."""
        with torch.inference_mode():
            probabilities: torch.Tensor = self(one_hot(sequence)[None])
        return probabilities[0].T.numpy()


@cache
def _default() -> Reprof:
    return Reprof.load()


def predict_ss3(sequence: str) -> np.ndarray:
    """``(L, 3)`` reprof probabilities H, E, C for ``sequence``, networks read once from
    :data:`MODEL_DIR` (see :meth:`Reprof.predict_ss3`)."""
    return _default().predict_ss3(sequence)
