"""Sequence databases for MSA search: where they are, what kind they are, and a cheap digest.

The database is given by ``--db`` (``foldlens search``, ``foldlens serve --seqdb``), else by the
environment variable ``FOLDLENS_SEQDB``, else it is the default: the 20,000 UniProt sequences of
Debian's ``mmseqs2-examples`` package (``apt-get install mmseqs2-examples``). That default is
small — enough for the feature to work on a fresh machine, far from the depth a UniRef-class
database gives; point ``FOLDLENS_SEQDB`` at a FASTA of UniRef50 or UniRef90 for real use.

Kinds: a FASTA file (plain or gzip) is searched in-process with pyhmmer. HH-suite databases
(``NAME_a3m.ffdata`` beside ``NAME_hhm.ffdata``) and MMseqs2 databases (``NAME.dbtype``) are
recognised and refused with a message saying so: foldlens does not run their tools yet.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

DEFAULT_DATABASE = Path("/usr/share/doc/mmseqs2/example-data/DB.fasta.gz")
ENVIRONMENT = "FOLDLENS_SEQDB"
SAMPLES = 64
"""Blocks of 4 KiB read at evenly spaced offsets for the digest."""
BLOCK = 4096


@dataclass(frozen=True)
class SequenceDatabase:
    path: Path
    kind: Literal["fasta", "hhsuite", "mmseqs2"]

    def digest(self) -> str:
        """SHA-256 of the database's size, modification time and 64 sampled blocks (first and
        last included): cheap for a database of any size, and it changes when the file does."""
        return _digest(self.path, *_stamp(self.path))


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
    """The database ``given``, else ``$FOLDLENS_SEQDB``, else the default, checked to exist and
    to be of a kind foldlens searches (a ``ValueError`` saying what to do otherwise)."""
    chosen = given or os.environ.get(ENVIRONMENT) or DEFAULT_DATABASE
    path = Path(chosen)
    if Path(f"{path}_a3m.ffdata").is_file() or Path(f"{path}.ffdata").is_file():
        raise ValueError(
            f"{path} is an HH-suite database; foldlens does not run hhblits yet — give a FASTA "
            "database (e.g. UniRef50 as .fasta or .fasta.gz)"
        )
    if Path(f"{path}.dbtype").is_file():
        raise ValueError(
            f"{path} is an MMseqs2 database; foldlens does not run mmseqs yet — give a FASTA "
            "database (e.g. UniRef50 as .fasta or .fasta.gz)"
        )
    if not path.is_file():
        if path == DEFAULT_DATABASE:
            raise ValueError(
                f"the default sequence database {path} is not installed: run "
                "apt-get install mmseqs2-examples, or give a FASTA database with --db or "
                f"{ENVIRONMENT}"
            )
        raise ValueError(f"no sequence database at {path}")
    return SequenceDatabase(path, "fasta")
