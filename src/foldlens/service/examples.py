"""The example proteins shipped in the package: held-out test-split chains with their structures
(backbone PDBs written from the stored coordinates), HHblits profiles and 8-state DSSP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .errors import InvalidInputError

EXAMPLES = resources.files("foldlens") / "resources" / "examples"


@dataclass(frozen=True)
class Example:
    id: str
    name: str
    fold: str
    sequence: str
    dssp: str
    """8-state DSSP of the deposited structure, one letter per residue."""
    structure_file: str

    def structure(self) -> str:
        return (EXAMPLES / self.structure_file).read_text()

    def profile(self) -> np.ndarray:
        return _profiles()[self.id].astype(np.float32)


@cache
def _profiles() -> dict[str, np.ndarray]:
    with (EXAMPLES / "profiles.npz").open("rb") as file, np.load(file) as arrays:
        return {name: arrays[name] for name in arrays}


@cache
def examples() -> dict[str, Example]:
    """The examples by id, in the order the page cycles through them."""
    listed = json.loads((EXAMPLES / "examples.json").read_text())
    return {
        item["id"]: Example(
            item["id"],
            item["name"],
            item["fold"],
            item["sequence"],
            item["dssp"],
            item["structure"],
        )
        for item in listed
    }


def example(example_id: str) -> Example:
    if example_id not in examples():
        raise InvalidInputError(f"unknown example {example_id!r}; examples: {list(examples())}")
    return examples()[example_id]
