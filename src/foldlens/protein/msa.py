"""Multiple sequence alignments (A3M, aligned FASTA, Stockholm) and the profile computed from them.

Every format is reduced to rows over the query's columns: the first row is the query; in A3M,
lower-case letters and ``.`` are insertions relative to it and are dropped; in aligned FASTA and
Stockholm, columns where the query has a gap are dropped. Letters outside the 20 amino acids (``X``,
``B``, ``Z``, ``U``, ``O``) count as unknown, like gaps.

Profile (per query column ``l``, amino acid ``a``)::

    w_k    = 1 / #{m : m = k or identity(k, m) ≥ 0.8}   (sequence weights; identity over L columns)
    f_la   = Σ_k w_k [x_kl = a] / Σ_k w_k [x_kl ∈ 20 aa]
    p_la   = (n_l f_la + τ q_a) / (n_l + τ),  n_l = Σ_k w_k [x_kl ∈ 20 aa],  τ = 1

with background ``q`` the mean amino-acid composition of the ProMod3 chains. At most
``MAX_ROWS`` rows (the first ones) are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .alphabet import AMINO_ACIDS
from .sequences import MAX_LENGTH, check_sequence

MAX_ROWS = 4000
IDENTITY = 0.8
GAP = 20
"""The state of a gap or unknown letter; 0–19 are the amino acids."""
STATES = 21
PSEUDOCOUNT = 1.0
BACKGROUND = np.array(
    [0.083, 0.052, 0.043, 0.058, 0.014, 0.039, 0.066, 0.074, 0.023, 0.058,
     0.094, 0.060, 0.022, 0.040, 0.046, 0.060, 0.055, 0.014, 0.035, 0.072]
)  # fmt: skip
BACKGROUND = BACKGROUND / BACKGROUND.sum()
_UNKNOWN = set("XBZUOJ")


@dataclass(frozen=True)
class Alignment:
    """Rows over the query's columns, upper case, ``-`` for gaps and unknown letters."""

    ids: list[str]
    rows: list[str]

    @property
    def query(self) -> str:
        return self.rows[0]

    def codes(self, rows: int | None = None) -> torch.Tensor:
        """``(N, L)`` state of every row and column: 0–19 the amino acids in ``AMINO_ACIDS``
        order, :data:`GAP` (20) a gap or unknown letter; the first ``rows`` rows when given."""
        index = {aa: i for i, aa in enumerate(AMINO_ACIDS)}
        chosen = self.rows[:rows]
        return torch.tensor([[index.get(c, GAP) for c in row] for row in chosen], dtype=torch.long)

    def profile(self) -> np.ndarray:
        """``(L, 20)`` profile frequencies (see the module docstring)."""
        codes = self.codes(MAX_ROWS)
        onehot = torch.nn.functional.one_hot(codes, STATES)[:, :, :GAP].float()
        weights = sequence_weights(codes)
        counts = torch.einsum("k,kla->la", weights, onehot).numpy().astype(np.float64)
        n = counts.sum(axis=1, keepdims=True)
        frequencies = np.divide(counts, n, out=np.zeros_like(counts), where=n > 0)
        profile: np.ndarray = (n * frequencies + PSEUDOCOUNT * BACKGROUND) / (n + PSEUDOCOUNT)
        return profile.astype(np.float32)


def sequence_weights(
    codes: torch.Tensor, identity: float = IDENTITY, chunk: int = 2048
) -> torch.Tensor:
    """``w_k = 1 / #{m : m = k or identity(k, m) ≥ identity}`` for codes ``(N, L)`` (see
    :meth:`Alignment.codes`), identity counting the columns where both rows have the same amino
    acid (gaps never match), over L. A row always counts itself, so a gappy fragment similar to
    no other row weighs 1. Rows are compared ``chunk`` at a time: memory ``O(chunk · N)``."""
    onehot = torch.nn.functional.one_hot(codes, STATES)[:, :, :GAP].flatten(1).float()
    similar = torch.empty(len(codes))
    for start in range(0, len(codes), chunk):
        close = (onehot[start : start + chunk] @ onehot.T) / codes.shape[1] >= identity
        rows = torch.arange(len(close))
        close[rows, start + rows] = True
        similar[start : start + chunk] = close.sum(dim=1).float()
    return 1.0 / similar


def _records(text: str) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(">"):
            records.append(
                (line[1:].split()[0] if line[1:].split() else f"row{len(records) + 1}", [])
            )
        elif records:
            records[-1][1].append(line)
        else:
            raise ValueError("the alignment must start with a '>' header line")
    return [(name, "".join(parts)) for name, parts in records]


def _stockholm(text: str) -> list[tuple[str, str]]:
    order: list[str] = []
    parts: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "//":
            break
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(
                f"cannot read the Stockholm line {line[:60]!r}: expected 'name sequence'"
            )
        name, segment = fields
        if name not in parts:
            order.append(name)
            parts[name] = []
        parts[name].append(segment)
    return [(name, "".join(parts[name])) for name in order]


def _over_query_columns(records: list[tuple[str, str]], a3m: bool) -> Alignment:
    if not records:
        raise ValueError("the alignment has no sequences")
    rows = []
    for _, row in records:
        if a3m:
            row = "".join(c for c in row if not (c.islower() or c == "."))
        rows.append(row.upper().replace(".", "-"))
    lengths = {len(row) for row in rows}
    if len(lengths) > 1:
        bad = next(
            name for (name, _), row in zip(records, rows, strict=True) if len(row) != len(rows[0])
        )
        raise ValueError(
            f"alignment rows differ in length ({len(rows[0])} for the query, {sorted(lengths)} in "
            f"all; first mismatch: {bad!r})"
        )
    keep = [i for i, c in enumerate(rows[0]) if c != "-"]
    aligned = ["".join("-" if row[i] in _UNKNOWN else row[i] for i in keep) for row in rows]
    for (name, _), row in zip(records, aligned, strict=True):
        for position, letter in enumerate(row, start=1):
            if letter != "-" and letter not in AMINO_ACIDS:
                raise ValueError(
                    f"row {name!r} has {letter!r} at column {position}, not an amino acid"
                )
    return Alignment([name for name, _ in records], aligned)


def parse_msa(text: str, max_length: int = MAX_LENGTH) -> Alignment:
    """Read A3M, aligned FASTA or Stockholm (detected from the text); the first row is the query."""
    stripped = text.lstrip()
    if stripped.startswith("# STOCKHOLM"):
        alignment = _over_query_columns(_stockholm(stripped), a3m=False)
    else:
        records = _records(text)
        a3m = any(any(c.islower() or c == "." for c in row) for _, row in records[1:])
        alignment = _over_query_columns(records, a3m=a3m)
    check_sequence(alignment.query, "the query (first row of the alignment)", max_length)
    return alignment


def check_query(alignment: Alignment, sequence: str) -> None:
    """A ``ValueError`` unless the alignment's first row is ``sequence``."""
    if alignment.query != sequence:
        raise ValueError(
            "the first row of the alignment is not the query sequence "
            f"({alignment.query[:30]}... vs {sequence[:30]}...)"
        )
