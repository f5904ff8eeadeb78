"""The atlas's table: one row per protein, target and method, built from the protein files
(:mod:`.protein_work`) and written as Parquet (``atlas.parquet``).

With ``s_k`` the signed and ``m_k`` the absolute attribution to residue ``k`` (summed over its
features), ``M = Σ_k m_k``, and the target's residues ``t`` (``i``, or ``i`` and ``j``):

=======================  ======================================================================
column                   meaning
=======================  ======================================================================
protein, file            the protein's name and its file in ``proteins/``
length                   residues
head                     ``contact`` or ``ss3``
i, j                     the target's residues, 0-based (``j`` null for a residue target)
class                    the SS3 class explained (0 helix, 1 strand, 2 coil); 0 for contacts
separation               ``j − i`` (null for residue targets)
value                    the explained logit
probability              the predicted probability of the target (contact, or the SS3 class)
aa_i, aa_j               the amino acids at ``i`` and ``j``
method                   the attribution method
sum_total, magnitude     ``Σ_k s_k`` and ``M``
sum_i, sum_j             ``s_i``, ``s_j``: the target residues' own attribution
share_i, share_j         ``m_i / M``, ``m_j / M``
share_by_offset          list: ``Σ m_k / M`` over the residues ``k`` whose distance in sequence
                         to the nearest target residue, ``min_t |k − t|``, falls in each bin of
                         :data:`OFFSET_BINS`
residues_by_offset       list: how many residues fall in each of those bins
spearman_<method>        Spearman correlation of this row's ``m`` with ``<method>``'s for the
                         same target (one column per method of the atlas)
randomization            the randomization verdict of this method's map (analysed targets only)
randomization_survived   randomized layers that left ρ(|map|) above 0.8, of
randomization_layers     the layers randomized (cascade)
deletion_auc …           ``deletion_auc``, ``insertion_auc``, ``random_deletion_auc``,
                         ``random_insertion_auc``: the deletion analysis of this method's map
=======================  ======================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.metrics import spearman
from .protein_work import HEADS

OFFSET_BINS = ((0, 0), (1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 64), (65, None))
"""Sequence-offset bins ``[low, high]`` (``None``: no upper end) of ``share_by_offset``."""
TABLE = "atlas.parquet"
DELETION_COLUMNS = ("deletion", "insertion", "random_deletion", "random_insertion")


def offset_bins(length: int, residues: Sequence[int]) -> np.ndarray:
    """Each residue's bin in :data:`OFFSET_BINS` by its distance to the nearest of ``residues``."""
    positions = np.arange(length)
    offset = np.min([np.abs(positions - t) for t in residues], axis=0)
    lows = np.array([low for low, _ in OFFSET_BINS])
    return np.asarray(np.searchsorted(lows, offset, side="right") - 1)


def protein_rows(file: Path, methods: Sequence[str]) -> list[dict[str, Any]]:
    """The table's rows of one protein file."""
    with np.load(file) as archive:  # each read of an archive's member decompresses it again
        stored = {name: archive[name] for name in archive.files}
    sequence = str(stored["sequence"])
    length = len(sequence)
    analyses = json.loads(str(stored["analyses"]))
    rows = []
    for k, (head_index, i, j, index) in enumerate(stored["targets"].tolist()):
        head = HEADS[head_index]
        residues = [i] if j < 0 else [i, j]
        bins = offset_bins(length, residues)
        count = np.bincount(bins, minlength=len(OFFSET_BINS))
        probability = stored["contact"][i, j] if j >= 0 else stored["ss3"][i, index]
        magnitudes = {m: stored[f"{m}/magnitude"][k].astype(np.float64) for m in methods}
        for method in methods:
            signed, magnitude = stored[f"{method}/sum"][k].astype(np.float64), magnitudes[method]
            total = float(magnitude.sum())
            share = magnitude / total if total > 0 else np.zeros(length)
            row: dict[str, Any] = {
                "protein": file.stem.rsplit("-", 1)[0],
                "file": file.name,
                "length": length,
                "head": head,
                "i": i,
                "j": j if j >= 0 else None,
                "class": index,
                "separation": j - i if j >= 0 else None,
                "value": float(stored["values"][k]),
                "probability": float(probability),
                "aa_i": sequence[i],
                "aa_j": sequence[j] if j >= 0 else None,
                "method": method,
                "sum_total": float(signed.sum()),
                "magnitude": total,
                "sum_i": float(signed[i]),
                "sum_j": float(signed[j]) if j >= 0 else None,
                "share_i": float(share[i]),
                "share_j": float(share[j]) if j >= 0 else None,
                "share_by_offset": np.bincount(bins, share, len(OFFSET_BINS)).tolist(),
                "residues_by_offset": count.tolist(),
            }
            for other in methods:
                row[f"spearman_{other}"] = spearman(magnitude, magnitudes[other])
            row.update(_analysed(analyses, k, method))
            rows.append(row)
    return rows


def _analysed(analyses: dict[str, Any], k: int, method: str) -> dict[str, Any]:
    """The analysis columns of target row ``k`` and ``method`` (nulls where not analysed)."""
    row: dict[str, Any] = {
        "randomization": None,
        "randomization_survived": None,
        "randomization_layers": None,
        **{f"{name}_auc": None for name in DELETION_COLUMNS},
    }
    if analyses.get("target") != k:
        return row
    randomization = analyses.get("randomization", {})
    if method in randomization.get("verdicts", {}):
        row["randomization"] = randomization["verdicts"][method]
        row["randomization_survived"] = randomization["unchanged_layers"][method]
        row["randomization_layers"] = len(randomization["layers"])
    deletion = analyses.get("deletion", {}).get(method)
    if deletion is not None:
        for name in DELETION_COLUMNS:
            row[f"{name}_auc"] = deletion[name]["auc"]
    return row


def write_table(
    files: Iterable[Path],
    methods: Sequence[str],
    path: Path,
    each: Callable[[dict[str, np.ndarray]], None],
) -> list[dict[str, Any]]:
    """The rows of every file as a Parquet table at ``path``, written one protein at a time (to
    a temporary name, then renamed), ``each`` called with every protein's
    :func:`table_columns`; returns, per protein, its name, file, length and number of targets."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(methods)
    proteins = []
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(partial, schema) as writer:
        for file in files:
            rows = protein_rows(file, methods)
            chunk = pa.Table.from_pylist(rows, schema=schema)
            writer.write_table(chunk)
            each(table_columns(chunk))
            proteins.append({
                "protein": file.stem.rsplit("-", 1)[0],
                "file": file.name,
                "length": rows[0]["length"] if rows else len(str(np.load(file)["sequence"])),
                "targets": len(rows) // len(methods),
            })  # fmt: skip
    partial.replace(path)
    return proteins


def require_pyarrow() -> None:
    """A ``ValueError`` saying how to install pyarrow, when it is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise ValueError("the atlas writes Parquet: pip install 'foldlens[atlas]'") from error


def table_columns(table: Any) -> dict[str, np.ndarray]:
    """The columns of a ``pyarrow.Table`` of this schema as numpy arrays: text with nulls as
    ``""``, numbers with nulls as NaN, the list columns as ``(rows, bins)``."""
    import pyarrow as pa

    columns: dict[str, np.ndarray] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type):
            values = column.to_pylist()
            columns[name] = np.array(values, np.float64).reshape(len(values), len(OFFSET_BINS))
        elif pa.types.is_string(column.type):
            columns[name] = np.array(column.fill_null("").to_pylist(), dtype=object)
        else:
            columns[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return columns


def _schema(methods: Sequence[str]) -> Any:
    import pyarrow as pa

    text, integer, real = pa.string(), pa.int32(), pa.float64()
    fields = [
        ("protein", text), ("file", text), ("length", integer), ("head", text),
        ("i", integer), ("j", integer), ("class", integer), ("separation", integer),
        ("value", real), ("probability", real), ("aa_i", text), ("aa_j", text),
        ("method", text), ("sum_total", real), ("magnitude", real), ("sum_i", real),
        ("sum_j", real), ("share_i", real), ("share_j", real),
        ("share_by_offset", pa.list_(real)), ("residues_by_offset", pa.list_(integer)),
        *((f"spearman_{m}", real) for m in methods),
        ("randomization", text), ("randomization_survived", integer),
        ("randomization_layers", integer),
        *((f"{name}_auc", real) for name in DELETION_COLUMNS),
    ]  # fmt: skip
    return pa.schema(fields)
