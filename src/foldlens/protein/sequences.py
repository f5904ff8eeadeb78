"""Sequences and FASTA text.

``parse_fasta`` reads one or more records (``>id description`` then sequence lines); text without a
header is one record called ``query``. Every sequence is checked against the 20-letter alphabet and
the length limit, with the record and position of the first problem in the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from .alphabet import validate_sequence

MAX_LENGTH = 1000


@dataclass(frozen=True)
class Record:
    id: str
    description: str
    sequence: str


def check_sequence(sequence: str, name: str = "the sequence", max_length: int = MAX_LENGTH) -> str:
    """:func:`~foldlens.protein.alphabet.validate_sequence` with the default length limit."""
    return validate_sequence(sequence, name, max_length)


def parse_fasta(text: str, max_length: int = MAX_LENGTH) -> list[Record]:
    """The records of a FASTA text (or of a bare sequence), each checked."""
    records: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            header = line[1:].strip()
            name, _, description = header.partition(" ")
            records.append((name or f"record{len(records) + 1}", description, []))
        else:
            if not records:
                records.append(("query", "", []))
            records[-1][2].append(line)
    if not records:
        raise ValueError("no sequence found in the input")
    seen: set[str] = set()
    result = []
    for name, description, lines in records:
        if name in seen:
            raise ValueError(f"the record id {name!r} appears twice")
        seen.add(name)
        sequence = check_sequence("".join(lines), f"record {name!r}", max_length)
        result.append(Record(name, description, sequence))
    return result
