"""Sequences and FASTA text.

``parse_fasta`` reads one or more records (``>id description`` then sequence lines); text without a
header is one record called ``query``. Every sequence is checked against the 20-letter alphabet and
the length limit, with the record and position of the first problem in the message. What people
paste is read as they mean it: GenBank's and EMBL's position numbers (``1 mktayiakqr qisfvkshfs``,
numbers between blanks) and one final ``*`` (a translation's stop) are dropped, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from .alphabet import looks_like_nucleotides, validate_sequence

MAX_LENGTH = 1000
NAME_LENGTH = 80
"""The longest record name kept; longer ones are cut (a name is a label, not data)."""


@dataclass(frozen=True)
class Record:
    id: str
    description: str
    sequence: str


def check_sequence(sequence: str, name: str = "the sequence", max_length: int = MAX_LENGTH) -> str:
    """:func:`~foldlens.protein.alphabet.validate_sequence` of ``sequence`` without the numbers
    that stand alone between blanks (the position numbers of a GenBank or EMBL listing; a digit
    among letters is refused) and without one final ``*`` (a stop); a nucleotide sequence
    (:func:`~foldlens.protein.alphabet.looks_like_nucleotides`) is refused with a message that
    says so."""
    words = sequence.split()
    letters = "".join(word for word in words if not word.isdigit()).upper().removesuffix("*")
    if words and not letters:
        raise ValueError(f"{name} has only numbers, no residues")
    if looks_like_nucleotides(letters):
        raise ValueError(
            f"{name} looks like DNA or RNA (only A, C, G, T/U and N): translate it to the "
            "protein sequence first"
        )
    return validate_sequence(letters, name, max_length)


def read_fasta(text: str, max_length: int = MAX_LENGTH) -> tuple[list[Record], list[str]]:
    """The good records of a FASTA text (or of a bare sequence), and one message per bad record
    (bad letters, too long, empty, a name used twice), in file order."""
    records: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            header = line[1:].strip()
            name, _, description = header.partition(" ")
            if len(name) > NAME_LENGTH:
                name = name[: NAME_LENGTH - 1] + "…"
            records.append((name or f"record{len(records) + 1}", description, []))
        else:
            if not records:
                records.append(("query", "", []))
            records[-1][2].append(line)
    if not records:
        raise ValueError("no sequence found in the input")
    seen: set[str] = set()
    good, problems = [], []
    for name, description, lines in records:
        try:
            if name in seen:
                raise ValueError(f"the record id {name!r} appears twice")
            seen.add(name)
            sequence = check_sequence("\n".join(lines), f"record {name!r}", max_length)
        except ValueError as error:
            problems.append(str(error))
            continue
        good.append(Record(name, description, sequence))
    return good, problems


def parse_fasta(text: str, max_length: int = MAX_LENGTH) -> list[Record]:
    """The records of a FASTA text (or of a bare sequence), each checked: a ``ValueError`` names
    the first bad one."""
    records, problems = read_fasta(text, max_length)
    if problems:
        raise ValueError(problems[0])
    return records
