"""The proteins of an atlas: from a multi-FASTA, a folder of PDB/mmCIF files or the shipped test
split, each with its name, or with the reason it cannot be read (recorded, not fatal)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..data.chains import ChainSet
from ..predict import STRUCTURE_SUFFIXES, read_input
from ..protein.record import Protein

TEST_SPLIT = "test-split"
"""The INPUT that names the shipped test split (``resources/test_split.npz``)."""
TEST_SPLIT_FILE = Path(__file__).parent.parent / "resources" / "test_split.npz"


@dataclass(frozen=True)
class AtlasProtein:
    """One protein to explain (``protein``), or one that could not be read (``problem``)."""

    name: str
    protein: Protein | None = None
    problem: str = ""


def atlas_proteins(
    source: str, max_length: int, limit: int | None = None
) -> Iterator[AtlasProtein]:
    """The proteins of ``source`` in order, at most ``limit`` of them (readable or not)."""
    found = _every_protein(source, max_length)
    for count, item in enumerate(found):
        if limit is not None and count >= limit:
            return
        yield item


def _every_protein(source: str, max_length: int) -> Iterator[AtlasProtein]:
    if source == TEST_SPLIT:
        chains = ChainSet.load(TEST_SPLIT_FILE)
        for k in range(len(chains)):
            chain = chains[k]
            if len(chain.sequence) > max_length:
                yield AtlasProtein(chain.chain_id, problem=_too_long(len(chain), max_length))
            else:
                yield AtlasProtein(chain.chain_id, Protein(chain.sequence, chain.profile))
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in STRUCTURE_SUFFIXES)
        if not files:
            raise ValueError(f"{source} holds no PDB or mmCIF files ({sorted(STRUCTURE_SUFFIXES)})")
        for file in files:
            yield from _read(str(file), max_length, file.stem)
        return
    if not path.is_file():
        raise ValueError(f"no such file or folder: {source} (or give {TEST_SPLIT!r})")
    yield from _read(source, max_length, path.stem)


def _read(source: str, max_length: int, stem: str) -> Iterator[AtlasProtein]:
    try:
        queries, problems = read_input(source, max_length)
    except ValueError as error:
        yield AtlasProtein(stem, problem=str(error))
        return
    for problem in problems:
        yield AtlasProtein(stem, problem=problem)
    for query in queries:
        yield AtlasProtein(query.id, query.protein)


def _too_long(length: int, max_length: int) -> str:
    return f"{length} residues; the model takes at most {max_length}"
