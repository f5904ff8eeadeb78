"""What a model reads and writes, in a form the CLI, the web API and the page can render.

One :class:`ModelSpec` per registered model is the single source of truth for its input features,
its heads (with the transform that turns logits into what a person reads), its layers and which
attribution methods are exact for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class FeatureGroup:
    """Consecutive input channels that belong together, e.g. the 20 one-hot letters: the page
    draws each group as a block of rows. ``labels`` name the channels within the group (``"A"``;
    ``""`` for a group of one). ``needs`` names what the group encodes when the protein has it
    (``"profile"``, ``"structure"``): without it the group's channels are all zero."""

    name: str
    labels: list[str]
    needs: str | None = None

    def feature_names(self) -> list[str]:
        """Full channel names: ``"<group> <label>"``, or the group's name for a group of one."""
        return [f"{self.name} {label}".strip() for label in self.labels]


@dataclass(frozen=True)
class InputSpec:
    """The model input: ``kind`` per-residue ``(B, C, L)`` or pair ``(B, C, L, L)``, its
    channels in ``groups``; ``features`` lists every channel's full name in input order."""

    kind: Literal["per-residue", "pair"]
    groups: list[FeatureGroup]
    features: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [name for group in self.groups for name in group.feature_names()]
        if self.features and self.features != names:
            raise ValueError("the features of an input spec are its groups' feature names")
        object.__setattr__(self, "features", names)


@dataclass(frozen=True)
class HeadSpec:
    """One output of the model: logits of shape ``shape`` (``B`` batch, ``L`` length).

    ``transform`` says how logits become the reported value: ``softmax`` over ``classes``,
    ``probability`` (the output already holds the ``classes``' probabilities), ``sigmoid``,
    ``expected distance`` over distance bins, or ``identity``. A head with a ``source`` is read
    out of another head's logits rather than computed by the network: ``expected error`` (the
    expected absolute error of the source distogram's expected distance) and ``predicted lddt``
    (a residue's row of the source distogram, :mod:`foldlens.folding.confidence`).
    """

    name: str
    kind: Literal["per-residue", "pair"]
    shape: str
    meaning: str
    transform: Literal[
        "softmax", "probability", "sigmoid", "expected distance", "identity",
        "expected error", "predicted lddt",
    ]  # fmt: skip
    units: str = ""
    classes: list[str] = field(default_factory=list)
    source: str = ""


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
    approximate_reason: str
    """Why the approximate methods are not exact here (the operations without an exact rule);
    empty when every method is exact."""
    receptive_field: dict[str, int | None]
    """Per head kind, the largest sequence distance from the target residue (a pair target: from
    either of its residues) at which an input residue can matter; ``None`` when unbounded. For a
    2D-only model the pair value is the radius of its square window around (i, j). A head that
    reaches farther than its kind has an entry of its own, by name."""
    max_length: int

    def radius(self, head: str | None, kind: str) -> int | None:
        """The receptive radius of head ``head`` (of kind ``kind``; ``None`` for a unit)."""
        if head is not None and head in self.receptive_field:
            return self.receptive_field[head]
        return self.receptive_field.get(kind)

    def head(self, name: str) -> HeadSpec:
        for head in self.heads:
            if head.name == name:
                return head
        raise ValueError(
            f"model {self.name!r} has no head {name!r}; heads: {[h.name for h in self.heads]}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def distance_heads(
    names: tuple[str, ...], shape: str, transform: Literal["expected distance", "identity"]
) -> list[HeadSpec]:
    """Heads named ``dist_<a>_<b>``: the distance from atom a of residue i to atom b of j, in Å."""
    atoms = {"ca": "Cα", "cb": "Cβ"}
    return [
        HeadSpec(name, "pair", shape, f"{atoms[name[5:7]]}_i–{atoms[name[8:10]]}_j distance",
                 transform, units="Å")
        for name in names
    ]  # fmt: skip


def reads_profile(model_spec: ModelSpec) -> bool:
    """Whether the model reads an alignment's profile (a feature group of its input needs one):
    its predictions are in ``profile`` mode when one is given."""
    return any(group.needs == "profile" for group in model_spec.input.groups)
