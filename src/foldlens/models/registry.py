"""The model registry: ``load(name)`` and ``spec(name)`` for every shipped model.

``"default"`` names the shipped default network. Weights are float16 state dicts in
``foldlens/models/weights``, read with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import torch
from torch import nn

from ..protein.alphabet import AMINO_ACIDS
from ..protein.features import FEATURE_NAMES
from ..protein.labels import DSSP8, SS3
from .default import DISTANCE_MAPS, DefaultNet
from .exactness import audited_methods
from .seed2018 import SEED_DISTANCE_MAPS, Seed2018Net
from .spec import HeadSpec, InputSpec, LayerSpec, ModelSpec

MAX_LENGTH = 1000


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[[], nn.Module]
    weights: str
    spec: Callable[[], ModelSpec]


def _layers(model: nn.Module, grids: dict[str, list[str]] | None = None) -> list[LayerSpec]:
    """The convolutions of ``model``; ``grids`` names the layers whose input channels are pairs
    of states."""
    layers = []
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            kind: Literal["1d", "2d"] = "1d" if isinstance(module, nn.Conv1d) else "2d"
            grid = (grids or {}).get(path, [])
            layers.append(LayerSpec(path, kind, module.in_channels, module.out_channels, grid))
    return layers


def _audited(model: nn.Module) -> dict[str, list[str]]:
    """The methods exact (and not) for ``model``, from the engine's audit on a 12-residue input."""
    exact, approximate = audited_methods(model, torch.rand(1, len(FEATURE_NAMES), 12))
    return {"exact_methods": exact, "approximate_methods": approximate}


def _distance_heads(
    names: tuple[str, ...], shape: str, transform: Literal["expected distance", "identity"]
) -> list[HeadSpec]:
    """Heads named ``dist_<a>_<b>``: the distance from atom a of residue i to atom b of j, in Å."""
    atoms = {"ca": "Cα", "cb": "Cβ"}
    return [
        HeadSpec(name, "pair", shape, f"{atoms[name[5:7]]}_i–{atoms[name[8:10]]}_j distance",
                 transform, units="Å")
        for name in names
    ]  # fmt: skip


def _default_spec() -> ModelSpec:
    model = DefaultNet()
    per_residue = [
        HeadSpec("ss8", "per-residue", "B×8×L", "DSSP 8-state secondary structure", "softmax",
                 classes=list(DSSP8)),
        HeadSpec("ss3", "per-residue", "B×3×L", "3-state secondary structure", "softmax",
                 classes=list(SS3)),
        HeadSpec("rsa", "per-residue", "B×1×L", "relative solvent accessibility", "sigmoid",
                 units="fraction of the maximum"),
    ]  # fmt: skip
    pair = _distance_heads(DISTANCE_MAPS, "B×37×L×L", "expected distance")
    pair.append(
        HeadSpec("contact", "pair", "B×1×L×L", "Cβ_i–Cβ_j < 8 Å", "sigmoid", units="probability")
    )
    return ModelSpec(
        name="default",
        description=(
            "ReLU residual network trained on ProMod3's PDB chains: 1D trunk (8 dilated blocks, "
            "128 channels) → per-residue heads; pair features → 2D trunk (8 dilated blocks, 64 "
            "channels) → four distograms and contacts. Profile optional."
        ),
        version="1",
        input=InputSpec("per-residue", list(FEATURE_NAMES)),
        heads=per_residue + pair,
        layers=_layers(model),
        **_audited(model),
        receptive_field={"per-residue": model.residue_radius(), "pair": model.pair_radius()},
        max_length=MAX_LENGTH,
    )


def _seed2018_spec() -> ModelSpec:
    model = Seed2018Net()
    heads = _distance_heads(SEED_DISTANCE_MAPS, "B×L×L", "identity")
    return ModelSpec(
        name="seed2018",
        description=(
            "The 2018 network's shape: the 21 × 21 outer product of two residues' profile "
            "columns → three 2D convolutions (ReLU, dropout; 15 × 15 receptive field) → four "
            "distance maps. Attribute with wrt='conv1' for the 2018 Jacobian-window view."
        ),
        version="2",
        input=InputSpec("per-residue", list(FEATURE_NAMES)),
        heads=heads,
        layers=_layers(model, {"conv1": [*AMINO_ACIDS, "-"]}),
        **_audited(model),
        receptive_field={"pair": 7},
        max_length=SEED2018_MAX_LENGTH,
    )


SEED2018_MAX_LENGTH = 500
MODELS: dict[str, ModelEntry] = {
    "default": ModelEntry(DefaultNet, "default.pt", _default_spec),
    "seed2018": ModelEntry(Seed2018Net, "seed2018.pt", _seed2018_spec),
}


def available() -> list[str]:
    return list(MODELS)


def _entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {available()}")
    return MODELS[name]


def build(name: str) -> nn.Module:
    """A registered network with fresh (untrained) weights."""
    return _entry(name).build()


@cache
def spec(name: str = "default") -> ModelSpec:
    """The spec of a registered model."""
    return _entry(name).spec()


def _weights(name: str) -> bytes:
    path = resources.files("foldlens.models") / "weights" / _entry(name).weights
    if not path.is_file():
        raise FileNotFoundError(f"the weights of model {name!r} are missing: {path}")
    return path.read_bytes()


@cache
def version(name: str = "default") -> str:
    """``<spec version>-<12 hex digits of the weights' SHA-256>``: changes with the weights."""
    return f"{spec(name).version}-{hashlib.sha256(_weights(name)).hexdigest()[:12]}"


def load(name: str = "default") -> nn.Module:
    """A fresh copy of a shipped model in eval mode, float32, with its trained weights."""
    model = _entry(name).build()
    state = torch.load(io.BytesIO(_weights(name)), map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
