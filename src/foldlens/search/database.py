"""Sequence databases for MSA search: where they are, what kind they are, and a cheap digest.

The database is given by ``--db`` (``foldlens search``, ``foldlens serve --seqdb``), else by the
environment variable ``FOLDLENS_SEQDB``, else it is the default: the 20,000 UniProt sequences of
Debian's ``mmseqs2-examples`` package (``apt-get install mmseqs2-examples``) together with the
20,639 PDB chain sequences of foldlens's training source, shipped in the package
(``resources/pdb_chains.fasta.gz``, written by ``scripts/make_seqdb.py``). That default is
small — enough for the feature to work on a fresh machine, far from the depth a UniRef-class
database gives; point ``FOLDLENS_SEQDB`` at a FASTA of UniRef50 or UniRef90 for real use.

Kinds: a FASTA file (plain or gzip) is searched in-process with pyhmmer (jackhmmer); an MMseqs2
database (``NAME`` beside ``NAME.dbtype``, from ``mmseqs createdb``) with its own program,
``mmseqs search --num-iterations`` (Debian ``mmseqs2``); an HH-suite database (``NAME_a3m``,
``NAME_hhm`` and ``NAME_cs219`` ffindex pairs) with ``hhblits`` (Debian ``hhsuite``). A missing
program is named with the command that installs it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pyhmmer import easel

UNIPROT_EXAMPLES = Path("/usr/share/doc/mmseqs2/example-data/DB.fasta.gz")
PDB_CHAINS = Path(__file__).resolve().parents[1] / "resources" / "pdb_chains.fasta.gz"
DEFAULT = "default"
ENVIRONMENT = "FOLDLENS_SEQDB"
SAMPLES = 64
"""Blocks of 4 KiB read at evenly spaced offsets for the digest."""
BLOCK = 4096
ALPHABET = easel.Alphabet.amino()
IN_MEMORY_BYTES = 256 * 2**20
"""Databases up to this size on disk are read once per process and searched from memory; larger
ones are streamed from the file at every iteration."""


@dataclass(frozen=True)
class SequenceDatabase:
    """FASTA files searched as one database, or an MMseqs2 or HH-suite database (``paths``: the
    index files its digest reads), under a name people read."""

    name: str
    paths: tuple[Path, ...]
    kind: Literal["fasta", "mmseqs2", "hhsuite"] = "fasta"

    def program(self) -> str:
        """The search program and its version (part of a cached result's key)."""
        if self.kind == "mmseqs2":
            return f"mmseqs search ({mmseqs_version()})"
        if self.kind == "hhsuite":
            return hhblits_version()
        return f"jackhmmer (pyhmmer {metadata.version('pyhmmer')})"

    def digest(self) -> str:
        """SHA-256 over the files' digests: each from its size, modification time and 64
        sampled blocks (first and last included) — cheap for a database of any size, and it
        changes when a file does."""
        parts = [_digest(path, *_stamp(path)) for path in self.paths]
        return hashlib.sha256(" ".join(parts).encode()).hexdigest()

    @property
    def is_default(self) -> bool:
        """Whether this is the small default database."""
        return self.paths == (UNIPROT_EXAMPLES, PDB_CHAINS)

    def size(self) -> int:
        return sum(path.stat().st_size for path in self.paths)

    @contextmanager
    def targets(self, exclude: frozenset[str] = frozenset()) -> Iterator[Any]:
        """What pyhmmer searches: the sequences in memory (small databases, read once per
        process) less those named in ``exclude``, else the open file (one file; pyhmmer rewinds
        it at every iteration)."""
        if self.kind != "fasta":
            raise ValueError(f"{self.name} is searched by its own program, not by pyhmmer")
        if self.size() <= IN_MEMORY_BYTES:
            block = _in_memory(self.paths, self.digest())
            if exclude:
                kept = easel.DigitalSequenceBlock(ALPHABET)
                kept.extend(s for s in block if s.name not in exclude)
                block = kept
            yield block
            return
        if len(self.paths) != 1 or exclude:
            raise ValueError(
                f"{self.name} is too large to search from memory: one file, nothing left out"
            )
        with easel.SequenceFile(str(self.paths[0]), digital=True, alphabet=ALPHABET) as file:
            yield file


@lru_cache(maxsize=1)
def _in_memory(paths: tuple[Path, ...], digest: str) -> Any:
    """Every sequence of the files, digitized, as one block (``digest`` keys the cache)."""
    block = easel.DigitalSequenceBlock(ALPHABET)
    for path in paths:
        with easel.SequenceFile(str(path), digital=True, alphabet=ALPHABET) as file:
            block.extend(file.read_block())
    return block


def _ffindex(prefix: Path, part: str) -> bool:
    return all(Path(f"{prefix}_{part}.{end}").is_file() for end in ("ffdata", "ffindex"))


@cache
def hhblits_version() -> str:
    output = subprocess.run(["hhblits", "-h"], capture_output=True, text=True).stdout
    return output.splitlines()[0].rstrip(":") if output else "hhblits"


@cache
def mmseqs_version() -> str:
    return subprocess.run(
        ["mmseqs", "version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


@cache
def _digest(path: Path, size: int, modified: int) -> str:
    hasher = hashlib.sha256(f"{size}:{modified}".encode())
    with path.open("rb") as handle:
        for k in range(SAMPLES):
            handle.seek(max(0, (size - BLOCK) * k // (SAMPLES - 1)))
            hasher.update(handle.read(BLOCK))
    return hasher.hexdigest()


def find_database(given: str | Path | None = None) -> SequenceDatabase:
    """The database ``given``, else ``$FOLDLENS_SEQDB``, else the default (also named by the
    word ``default``), checked to exist and to be of a kind foldlens searches (a ``ValueError``
    saying what to do otherwise)."""
    chosen = str(given or os.environ.get(ENVIRONMENT) or DEFAULT)
    if chosen == DEFAULT:
        if not UNIPROT_EXAMPLES.is_file():
            raise ValueError(
                f"the default sequence database needs {UNIPROT_EXAMPLES}: run apt-get install "
                f"mmseqs2-examples, or give a FASTA database with --db or {ENVIRONMENT}"
            )
        return SequenceDatabase(
            "default (20,000 UniProt sequences + 20,639 PDB chains)",
            (UNIPROT_EXAMPLES, PDB_CHAINS),
        )
    path = Path(chosen)
    if Path(f"{path}_a3m.ffdata").is_file():
        if shutil.which("hhblits") is None:
            raise ValueError(
                f"{path} is an HH-suite database, and searching it needs hhblits, which is not "
                "installed: apt-get install hhsuite"
            )
        missing = [part for part in ("a3m", "hhm", "cs219") if not _ffindex(path, part)]
        if missing:
            raise ValueError(
                f"{path} is an HH-suite database without its {', '.join(missing)} part(s) "
                f"({path}_{missing[0]}.ffdata and .ffindex)"
            )
        files = (Path(f"{path}_a3m.ffindex"), Path(f"{path}_cs219.ffindex"))
        return SequenceDatabase(str(path), files, "hhsuite")
    if Path(f"{path}.dbtype").is_file():
        if shutil.which("mmseqs") is None:
            raise ValueError(
                f"{path} is an MMseqs2 database, and searching it needs the mmseqs program, "
                "which is not installed: apt-get install mmseqs2"
            )
        if Path(f"{path}.dbtype").read_bytes()[:1] != b"\x00":
            raise ValueError(f"{path} is an MMseqs2 database, but not of amino-acid sequences")
        return SequenceDatabase(
            str(path), (Path(f"{path}.index"), Path(f"{path}.dbtype")), "mmseqs2"
        )
    if not path.is_file():
        raise ValueError(f"no sequence database at {path}")
    return SequenceDatabase(str(path), (path,))


@cache
def pdb_clusters() -> dict[str, str]:
    """Chain id → its 30 % identity cluster's representative, for every chain of the training
    source (from the headers of ``pdb_chains.fasta.gz``)."""
    clusters = {}
    with gzip.open(PDB_CHAINS, "rt") as fasta:
        for line in fasta:
            if line.startswith(">"):
                chain, cluster = line[1:].split()[:2]
                clusters[chain] = cluster.removeprefix("cluster=")
    return clusters


def same_cluster(chain: str) -> frozenset[str]:
    """The chains of ``chain``'s 30 % identity cluster (itself included): the hits an evaluation
    of ``chain`` leaves out, since its homologs in the training source are no real MSA."""
    clusters = pdb_clusters()
    if chain not in clusters:
        raise ValueError(f"{chain} is not a chain of the training source")
    return frozenset(other for other, cluster in clusters.items() if cluster == clusters[chain])
