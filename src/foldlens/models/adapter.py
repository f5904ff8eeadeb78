"""The model adapter: everything foldlens needs to know about one model, in one place.

A model joins foldlens as one :class:`ModelAdapter` subclass (one file) plus its weights. The
adapter says

- how to build the network (:meth:`~ModelAdapter.build`) and load its trained weights
  (:meth:`~ModelAdapter.load`, ``torch.load(..., weights_only=True)``);
- how to build the input from a :class:`~foldlens.protein.record.Protein`
  (:meth:`~ModelAdapter.encode`) and its named feature groups (:attr:`~ModelAdapter.groups`, the
  page's rows), and how to make a mutant input (:meth:`~ModelAdapter.mutants`);
- the heads and their transforms (:attr:`~ModelAdapter.heads`), how to read them from the
  network's output (:meth:`~ModelAdapter.outputs`), its receptive field;
- optionally, exact fast *views* of one target (:meth:`~ModelAdapter.output_view`,
  :meth:`~ModelAdapter.unit_view`; by default the whole model).

From these the adapter derives the :class:`~foldlens.models.spec.ModelSpec` the CLI, the API and
the page render, including which attribution methods are exact: the engine's audit of the network
decides that (:mod:`foldlens.models.exactness`), never a list. Nothing outside a model's file knows
its class or its feature count.

Example, a model on the one-hot sequence only (see ``examples/`` for a trained one)::

    class TinyAdapter(ModelAdapter):
        name = "tiny"
        description = "a 1D CNN on the one-hot sequence"
        groups = [FeatureGroup("one-hot", list(AMINO_ACIDS))]
        heads = [HeadSpec("ss3", "per-residue", "B×3×L", "3-state", "softmax", classes=list(SS3))]

        def build(self) -> nn.Module: return TinyNet()
        def weights(self) -> bytes: return Path("tiny.pt").read_bytes()
        def encode(self, protein: Protein) -> torch.Tensor: return one_hot(protein.sequence)[None]
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..folding.confidence import Calibration
from ..protein.alphabet import AMINO_ACIDS
from ..protein.record import Protein
from .exactness import audited_methods
from .spec import FeatureGroup, HeadSpec, InputSpec, LayerSpec, ModelSpec
from .views import (
    Cropped,
    OutputTarget,
    Readout,
    UnitTarget,
    Whole,
    head_readout,
    heads_by_name,
)

MAX_LENGTH = 1000
AUDIT_SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLG"
"""A real sequence (28 residues) on which the engine audits which methods are exact."""


@dataclass(frozen=True)
class Encoded:
    """A protein and the model input built from it, ``x`` ``(1, C, L)``."""

    protein: Protein
    x: torch.Tensor

    @property
    def sequence(self) -> str:
        return self.protein.sequence


class ModelAdapter:
    """One model as foldlens sees it; subclass it once per model (see the module docstring).

    Class attributes to set: ``name``, ``description``, ``groups`` (the input's channels, in
    order), ``heads``. Optional: ``version`` (bump it when the inputs or heads change),
    ``max_length``, ``channel_grids`` (layers whose input channels are pairs of states).
    """

    name: str
    description: str
    groups: list[FeatureGroup]
    heads: list[HeadSpec]
    version: str = "1"
    max_length: int = MAX_LENGTH
    channel_grids: dict[str, list[str]] = {}  # noqa: RUF012 (read only)

    def build(self) -> nn.Module:
        """The network with fresh (untrained) weights."""
        raise NotImplementedError(f"the adapter of {self.name!r} does not say how to build it")

    def weights(self) -> bytes:
        """The trained weights: a state dict saved with ``torch.save``."""
        raise NotImplementedError(
            f"the adapter of {self.name!r} does not say where its weights are"
        )

    def encode(self, protein: Protein) -> torch.Tensor:
        """The model input ``(1, C, L)`` for ``protein``, channels in the order of ``groups``; a
        ``ValueError`` saying what is missing when the model cannot take this protein."""
        raise NotImplementedError(f"the adapter of {self.name!r} does not say how to encode")

    def build_for(self, state: dict[str, torch.Tensor]) -> nn.Module:
        """A network (fresh weights) that takes the state dict ``state``: :meth:`build`, unless
        the model comes in several shapes (then the one ``state`` has)."""
        return self.build()

    def load(self) -> nn.Module:
        """A fresh copy of the trained network in eval mode, float32 parameters."""
        state = torch.load(io.BytesIO(self.weights()), map_location="cpu", weights_only=True)
        return with_state(self.build_for(state), state)

    def confidence_calibration(self) -> Calibration:
        """How the raw predicted lDDT read from the distograms maps to the expected true lDDT
        (:mod:`foldlens.folding.confidence`); by default none (an identity map, said so)."""
        return Calibration()

    def digest(self) -> str:
        """SHA-256 of the weights (changes the model's version, and so its jobs' ids)."""
        return hashlib.sha256(self.weights()).hexdigest()

    def receptive_field(self, model: nn.Module) -> dict[str, int | None]:
        """Per head kind, the largest sequence distance from the target residue at which an input
        residue can matter (``None``: unbounded; the default)."""
        return {kind: None for kind in dict.fromkeys(head.kind for head in self.heads)}

    def mutants(self, inputs: Encoded, changes: Sequence[tuple[int, int]]) -> torch.Tensor:
        """``(N, C, L)``: the input with, in row n, residue ``changes[n][0]`` mutated to amino acid
        ``changes[n][1]`` (an index of ``AMINO_ACIDS``). By default each mutant protein is
        encoded anew (its profile and structure kept); adapters may edit ``inputs.x`` instead."""
        return torch.cat(
            [
                self.encode(inputs.protein.mutant(position, AMINO_ACIDS[letter]))
                for position, letter in changes
            ]
        )

    def outputs(self, model: nn.Module, x: torch.Tensor, pairs: bool = True) -> dict[str, Any]:
        """The heads' raw values for ``x``, by head name (``pairs=False``: a model may skip its
        pair heads). A network returning one tensor stands for its only head."""
        return heads_by_name(model(x), self.heads)

    def output_view(
        self, model: nn.Module, target: OutputTarget, length: int
    ) -> tuple[nn.Module, Readout]:
        """A module computing ``target`` exactly (by default the whole model) and the readout of
        the target's value from that module's output. A view keeps the network under ``net.``."""
        readout = head_readout(self.spec, target, False, self.confidence_calibration())
        return Whole(model, self.heads), readout

    def unit_view(
        self, model: nn.Module, target: UnitTarget, length: int
    ) -> tuple[nn.Module, str, tuple[int, ...]]:
        """The view computing an internal unit, the unit's module path in it and its index
        (batch 0) in that module's output."""
        where = (target.i,) if target.j is None else (target.i, target.j)
        return Whole(model, self.heads), f"net.{target.layer}", (0, target.channel, *where)

    def layer_windows(
        self, view: nn.Module, layer: str, length: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The map rows and columns of the cells the input of 2D layer ``layer`` holds in
        ``view``, one ``(rows, cols)`` per sample of that input: a :class:`Cropped` view's crop,
        else the whole map."""
        if isinstance(view, Cropped):
            return [(view.rows[0].numpy(), view.cols[0].numpy())]
        everything = np.arange(length)
        return [(everything, everything)]

    def layers(self, model: nn.Module) -> list[LayerSpec]:
        """The convolutions of ``model``: layers whose input can be attributed and whose units
        can be targets."""
        layers = []
        for path, module in model.named_modules():
            if isinstance(module, nn.Conv1d | nn.Conv2d):
                kind: Literal["1d", "2d"] = "1d" if isinstance(module, nn.Conv1d) else "2d"
                grid = self.channel_grids.get(path, [])
                layers.append(LayerSpec(path, kind, module.in_channels, module.out_channels, grid))
        return layers

    def encoded(self, protein: Protein) -> Encoded:
        """``protein`` with its model input, checked: ``(1, C, L)`` with the channels of the
        feature groups and one column per residue."""
        x = self.encode(protein)
        channels = sum(len(group.labels) for group in self.groups)
        if tuple(x.shape) != (1, channels, len(protein.sequence)):
            raise ValueError(
                f"model {self.name!r} encoded {len(protein.sequence)} residues as "
                f"{tuple(x.shape)}, expected (1, {channels}, L) (its feature groups)"
            )
        return Encoded(protein, x)

    @cached_property
    def spec(self) -> ModelSpec:
        """What the CLI, the API and the page show of this model (built once, whenever first
        asked for: the audit differentiates, so it turns gradients on even under ``no_grad``)."""
        model = self.build().eval()
        audit_input = self.encoded(Protein(AUDIT_SEQUENCE)).x
        with torch.enable_grad():
            exact, approximate, reason = audited_methods(model, audit_input)
        return ModelSpec(
            name=self.name,
            description=self.description,
            version=self.version,
            input=InputSpec("per-residue", list(self.groups)),
            heads=list(self.heads),
            layers=self.layers(model),
            exact_methods=exact,
            approximate_methods=approximate,
            approximate_reason=reason,
            receptive_field=self.receptive_field(model),
            max_length=self.max_length,
        )


def with_state(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """``model`` in eval mode with the weights ``state`` (float16 or float32) as float32."""
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()
