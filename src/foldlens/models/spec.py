"""What a model reads and writes, in a form the CLI, the web API and the page can render.

One :class:`ModelSpec` per registered model is the single source of truth for its input features,
its heads (with the transform that turns logits into what a person reads), its layers and which
attribution methods are exact for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class InputSpec:
    """The model input: ``kind`` per-residue ``(B, C, L)`` or pair ``(B, C, L, L)``."""

    kind: Literal["per-residue", "pair"]
    features: list[str]


@dataclass(frozen=True)
class HeadSpec:
    """One output of the model: logits of shape ``shape`` (``B`` batch, ``L`` length).

    ``transform`` says how logits become the reported value: ``softmax`` over ``classes``,
    ``sigmoid``, ``expected distance`` over distance bins, or ``identity``.
    """

    name: str
    kind: Literal["per-residue", "pair"]
    shape: str
    meaning: str
    transform: Literal["softmax", "sigmoid", "expected distance", "identity"]
    units: str = ""
    classes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LayerSpec:
    """A layer whose input can be attributed (``wrt=path``, ``channels`` input channels) or whose
    units can be targets (``out_channels`` output channels).

    ``channel_grid``: when the input channels are the pairs (a, b) of these states, channel
    ``a · n + b`` (the 2018 network's 21 × 21 outer-product input); empty otherwise.
    """

    path: str
    kind: Literal["1d", "2d"]
    channels: int
    out_channels: int
    channel_grid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    version: str
    input: InputSpec
    heads: list[HeadSpec]
    layers: list[LayerSpec]
    exact_methods: list[str]
    approximate_methods: list[str]
    """Read from the engine's audit of the network (:mod:`foldlens.models.exactness`), never
    listed by hand."""
    receptive_field: dict[str, int | None]
    """Per head kind, the largest sequence distance from the target residue (a pair target: from
    either of its residues) at which an input residue can matter; ``None`` when unbounded. For a
    2D-only model the pair value is the radius of its square window around (i, j)."""
    max_length: int

    def head(self, name: str) -> HeadSpec:
        for head in self.heads:
            if head.name == name:
                return head
        raise ValueError(
            f"model {self.name!r} has no head {name!r}; heads: {[h.name for h in self.heads]}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
