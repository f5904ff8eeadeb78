"""The atlas's table, aggregates, report and pages: each column and aggregate against an
independent computation from the protein files, the report self-contained, the folder served
read-only with every protein linked to a page and to the explorer."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from scipy.stats import spearmanr

from foldlens.atlas.aggregates import ratio_with_interval
from foldlens.atlas.protein_work import Recipe
from foldlens.atlas.run import run_atlas
from foldlens.atlas.table import OFFSET_BINS
from foldlens.cli import main
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.server import create_app
from polling import LOCAL, wait_job

PROTEINS = {
    "first": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ",
    "second": "GSHMLEDPVDAFQLGRSLIKQGNVPSAWLKE",
    "third": "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERSGA",
}
METHODS = ("gradient", "guided_backprop")


@pytest.fixture(scope="module")
def atlas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("atlas")
    fasta = folder / "set.fasta"
    fasta.write_text("".join(f">{n}\n{s}\n" for n, s in PROTEINS.items()) + ">bad\nMKXB\n")
    recipe = Recipe("default", "contacts:top=3:sep=6,ss3", METHODS, ("randomization", "deletion"))
    run_atlas(str(fasta), folder / "out", recipe)
    return folder / "out"


def _rows(atlas: Path) -> list[dict]:
    return pq.read_table(atlas / "atlas.parquet").to_pylist()


def _offset_bin(offset: int) -> int:
    for index, (low, high) in enumerate(OFFSET_BINS):
        if offset >= low and (high is None or offset <= high):
            return index
    raise AssertionError(offset)


def test_each_row_is_what_its_protein_file_says(atlas: Path) -> None:
    rows = _rows(atlas)
    files = json.loads((atlas / "atlas.json").read_text())["files"]
    assert len(files) == len(PROTEINS) and {r["file"] for r in rows} == set(files)
    for file in files:
        stored = np.load(atlas / "proteins" / file)
        sequence = str(stored["sequence"])
        analyses = json.loads(str(stored["analyses"]))
        mine = [r for r in rows if r["file"] == file]
        assert len(mine) == len(stored["targets"]) * len(METHODS)
        for row in mine:
            j = -1 if row["j"] is None else row["j"]
            head = ("contact", "ss3").index(row["head"])
            k = [tuple(t) for t in stored["targets"].tolist()].index(
                (head, row["i"], j, row["class"])
            )
            residues = [row["i"]] if row["j"] is None else [row["i"], row["j"]]
            signed = stored[f"{row['method']}/sum"][k].astype(float)
            magnitude = stored[f"{row['method']}/magnitude"][k].astype(float)
            assert row["protein"] == file.rsplit("-", 1)[0] and row["length"] == len(sequence)
            assert row["aa_i"] == sequence[row["i"]]
            assert row["sum_i"] == pytest.approx(signed[row["i"]])
            assert row["share_i"] == pytest.approx(magnitude[row["i"]] / magnitude.sum())
            assert row["magnitude"] == pytest.approx(magnitude.sum())
            shares, counts = [0.0] * len(OFFSET_BINS), [0] * len(OFFSET_BINS)
            for position in range(len(sequence)):
                where = _offset_bin(min(abs(position - t) for t in residues))
                shares[where] += magnitude[position] / magnitude.sum()
                counts[where] += 1
            assert row["share_by_offset"] == pytest.approx(shares)
            assert row["residues_by_offset"] == counts
            for other in METHODS:
                theirs = stored[f"{other}/magnitude"][k].astype(float)
                assert row[f"spearman_{other}"] == pytest.approx(
                    spearmanr(magnitude, theirs).statistic
                )
            if k == analyses["target"]:
                assert row["randomization"] == analyses["randomization"]["verdicts"][row["method"]]
                deletion = analyses["deletion"][row["method"]]
                assert row["deletion_auc"] == pytest.approx(deletion["deletion"]["auc"])
            else:
                assert row["randomization"] is None and row["deletion_auc"] is None
    assert {r["head"] for r in rows} == {"contact", "ss3"}
    assert all(r["separation"] >= 6 for r in rows if r["head"] == "contact")


def test_the_aggregates_equal_plain_loops_over_the_rows(atlas: Path) -> None:
    rows = _rows(atlas)
    found = json.loads((atlas / "aggregates.json").read_text())
    assert found["proteins"] == len(PROTEINS)
    size = len(AMINO_ACIDS)
    for method in METHODS:
        pairs: dict[tuple[str, str], list[float]] = {}
        for r in rows:
            if r["method"] == method and r["head"] == "contact":
                for a, b in ((r["aa_i"], r["aa_j"]), (r["aa_j"], r["aa_i"])):
                    pairs.setdefault((a, b), []).append(r["sum_i"] + r["sum_j"])
        entry = found["amino_acid_pairs"][method]
        for a, b in itertools.product(AMINO_ACIDS, repeat=2):
            k = AMINO_ACIDS.index(a) * size + AMINO_ACIDS.index(b)
            if (a, b) in pairs:
                assert entry["mean"][k] == pytest.approx(np.mean(pairs[(a, b)]))
                assert entry["low"][k] <= entry["mean"][k] + 1e-12 <= entry["high"][k] + 2e-12
            else:
                assert entry["mean"][k] is None and entry["count"][k] == 0
        for head in ("contact", "ss3"):
            mine = [r for r in rows if r["method"] == method and r["head"] == head]
            for b in range(len(OFFSET_BINS)):
                densities = [
                    r["share_by_offset"][b] / r["residues_by_offset"][b]
                    for r in mine
                    if r["residues_by_offset"][b]
                ]
                got = found["by_offset"][head][method]["mean"][b]
                assert got == (pytest.approx(np.mean(densities)) if densities else None)
        analysed = [r for r in rows if r["method"] == method and r["randomization"] is not None]
        assert found["randomization"][method]["analysed"] == len(analysed) == len(PROTEINS)
        for verdict in ("depends on the weights", "partly", "barely changes"):
            share = np.mean([r["randomization"] == verdict for r in analysed])
            assert found["randomization"][method][verdict]["mean"] == pytest.approx(share)
        differences = [r["deletion_auc"] - r["random_deletion_auc"] for r in analysed]
        deletion = found["deletion"][method]["deletion_minus_random"]
        assert deletion["mean"] == pytest.approx(np.mean(differences))
    rho = [
        r["spearman_guided_backprop"]
        for r in rows
        if r["method"] == "gradient" and r["head"] == "ss3"
    ]
    agreement = found["agreement"]["ss3"]["gradient|guided_backprop"]["mean"]
    assert agreement == pytest.approx(np.mean(rho))


def test_a_bootstrap_interval_is_a_point_when_every_protein_says_the_same() -> None:
    """Resampling proteins that agree cannot move a ratio; proteins that differ move it."""
    same = ratio_with_interval(np.array([[2.0, 3.0]] * 5), np.array([[1.0, 2.0]] * 5))
    assert same["low"] == same["mean"] == same["high"] == [2.0, 1.5]
    spread = ratio_with_interval(np.arange(20.0)[:, None], np.ones((20, 1)))
    assert spread["low"][0] < spread["mean"][0] == 9.5 < spread["high"][0]
    empty = ratio_with_interval(np.zeros((3, 1)), np.zeros((3, 1)))
    assert empty == {"mean": [None], "low": [None], "high": [None]}


def test_the_report_is_one_self_contained_page(atlas: Path) -> None:
    report = (atlas / "report.html").read_text()
    for name in ("amino_acid_pairs", "by_offset", "agreement", "randomization", "deletion"):
        assert f"id='{name}'><svg" in report
        assert (atlas / "figures" / f"{name}.svg").read_text().startswith("<svg")
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", report), "no outside request"
    assert "<td>set</td>" in report and "unknown amino acid" in report, "the failure is listed"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_server_shows_the_atlas_read_only(atlas: Path, tmp_path: Path) -> None:
    before = _digests(atlas)
    with TestClient(create_app(tmp_path / "data", atlas=atlas), base_url=LOCAL) as client:
        report = client.get("/atlas")
        assert report.status_code == 200 and "<svg" in report.text
        links = re.findall(r"href='(/atlas/proteins/[^']+)'", report.text)
        assert len(links) == len(PROTEINS)
        for link in links:
            page = client.get(link)
            assert page.status_code == 200 and "<svg" in page.text
        assert client.get("/atlas/proteins/nothing.npz").status_code == 404
        assert client.get("/atlas/proteins/..%2Fatlas.json").status_code == 404
        opened = client.post(f"{links[0]}/explore", follow_redirects=False)
        assert opened.status_code == 303
        job_id = re.match(r"/view/([0-9a-f]+)\?submission=", opened.headers["location"]).group(1)
        job = wait_job(client, job_id)
        assert job["status"] == "done" and job["model"] == "default"
        assert client.get(f"/api/jobs/{job_id}").json()["length"] == len(PROTEINS["first"])
    assert _digests(atlas) == before, "the atlas folder is read, never written"


def test_serving_a_folder_that_is_no_atlas_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--atlas", str(tmp_path), "--data-dir", str(tmp_path / "data")]
    assert main(argv) == 2
    assert "is not an atlas folder (no atlas.json" in capsys.readouterr().err
