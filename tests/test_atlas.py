"""The atlas: the targets grammar, target choice against a brute-force search, files whose maps
equal single explanations, resuming, failures recorded without stopping, and the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from foldlens.atlas.protein_work import Recipe
from foldlens.atlas.run import run_atlas
from foldlens.atlas.targets import TargetRule, parse_targets, targets_for
from foldlens.cli import main
from foldlens.models import adapter, load, spec
from foldlens.models.views import OutputTarget
from foldlens.protein.record import Protein
from foldlens.service.explain import explain
from foldlens.service.method_options import check_options

EXAMPLES = Path(__file__).parent.parent / "src" / "foldlens" / "resources" / "examples"
SHORT = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
OTHER = "GSHMLEDPVDAFQLGRSLIKQGNVPSA"


def test_the_targets_grammar() -> None:
    assert parse_targets("contacts:top=L/5:sep=24,ss3") == [
        TargetRule("contacts", "L/5", 24),
        TargetRule("ss3"),
    ]
    assert parse_targets("contacts:sep=6:top=7")[0].count(300) == 7
    assert parse_targets("contacts")[0].count(300) == 60
    assert parse_targets("contacts:top=L/5")[0].count(3) == 1, "at least one"
    for bad, words in (
        ("", "no targets"),
        ("helices", "unknown target kind 'helices'"),
        ("contacts:top=0", "bad setting 'top=0'"),
        ("contacts:top=L/0", "bad setting 'top=L/0'"),
        ("contacts:sep=-2", "bad setting"),
        ("contacts:depth=3", "bad setting 'depth=3'"),
        ("ss3:top=3", "ss3 takes no settings"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_targets(bad)


def test_targets_are_the_most_probable_contacts_far_enough_apart() -> None:
    rng = np.random.default_rng(3)
    length = 40
    probability = rng.random((length, length))
    probability = (probability + probability.T) / 2
    ss3 = rng.random((length, 3))
    prediction = {"sequence": "A" * length, "contact": probability, "ss3": ss3}
    found = targets_for(parse_targets("contacts:top=L/8:sep=12,ss3"), prediction, spec())
    pairs = sorted(
        ((probability[i, j], i, j) for i in range(length) for j in range(i + 12, length)),
        reverse=True,
    )[: length // 8]
    assert found[:5] == [OutputTarget("contact", i, j) for _, i, j in pairs]
    assert found[5:] == [OutputTarget("ss3", i, None, int(ss3[i].argmax())) for i in range(length)]


def test_an_atlas_run_writes_each_protein_once_and_records_failures(tmp_path: Path) -> None:
    """Two proteins, a bad record and the first record's name again: two files, whose maps equal
    single explanations of the same targets; a rerun writes nothing; other methods make other
    files; both problems are named in atlas.json and the run goes on."""
    fasta = tmp_path / "set.fasta"
    fasta.write_text(f">one\n{SHORT}\n>bad\nMKXB\n>two\n{OTHER}\n>one\n{SHORT}\n")
    out = tmp_path / "atlas"
    targets = "contacts:top=3:sep=6,ss3"
    methods = ["gradient", "deeplift"]
    seen: list[tuple[int, int]] = []
    recipe = Recipe("default", targets, tuple(methods))
    first = run_atlas(
        str(fasta), out, recipe, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(2, 4), (3, 4), (4, 4)], "the bad and the repeated record need no work"
    assert len(first.written) == 2 and not first.skipped
    assert list(first.failures) == ["set"], "the file's problems, under its name"
    assert "'X'" in first.failures["set"] and "'one' appears twice" in first.failures["set"]
    summary = json.loads((out / "atlas.json").read_text())
    assert summary["written"] == 2 and summary["failed"] == 1 and summary["methods"] == methods
    found, model = adapter("default"), load("default")
    stored = np.load(first.written[0])
    assert str(stored["sequence"]) == SHORT
    rows = stored["targets"]
    assert len(rows) == 3 + len(SHORT) and (rows[:3, 0] == 0).all() and (rows[3:, 0] == 1).all()
    inputs = found.encoded(Protein(SHORT))
    for k in (0, 2, 3, len(rows) - 1):  # contacts and residues, checked against explain()
        head, i, j, index = (int(v) for v in rows[k])
        target = OutputTarget(("contact", "ss3")[head], i, None if j < 0 else j, index)
        for method in methods:
            single = explain(model, found, inputs, target, method, check_options(method, {}))
            signed, magnitude = single.residue_scores()
            np.testing.assert_allclose(stored[f"{method}/sum"][k], signed, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(
                stored[f"{method}/magnitude"][k], magnitude, rtol=1e-5, atol=1e-6
            )
        assert stored["values"][k] == pytest.approx(single.value, abs=1e-5)
    stamps = {path: path.stat().st_mtime_ns for path in first.written}
    again = run_atlas(str(fasta), out, recipe)
    assert not again.written and sorted(set(again.skipped)) == sorted(first.written)
    assert {path: path.stat().st_mtime_ns for path in first.written} == stamps
    other = run_atlas(str(fasta), out, Recipe("default", targets, ("gradient",)))
    assert len(other.written) == 2 and not set(other.written) & set(first.written)
    assert not list((out / "proteins").glob("*.partial"))


def test_the_atlas_command_reads_a_folder_of_structures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder with a structure and a broken file: one file written, the broken one named, exit
    status 1; bad targets and methods are refused before any work."""
    folder = tmp_path / "structures"
    folder.mkdir()
    shutil.copy(EXAMPLES / "1k61C.pdb", folder)
    (folder / "broken.pdb").write_text("HEADER    NOT A STRUCTURE\nEND\n")
    out = tmp_path / "atlas"
    status = main(
        ["atlas", str(folder), "--out", str(out), "--targets", "contacts:top=2:sep=24",
         "--methods", "guided_backprop"]
    )  # fmt: skip
    assert status == 1
    files = list((out / "proteins").glob("1k61C-*.npz"))
    assert len(files) == 1 and np.load(files[0])["targets"].shape == (2, 4)
    assert list(json.loads((out / "atlas.json").read_text())["failures"]) == ["broken"]
    capsys.readouterr()
    for argv, words in (
        (["--targets", "contacts:top=x"], "bad setting"),
        (["--methods", "mutagenesis"], "atlas methods are"),
        (["--model", "seed2018"], "has no contact head"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
    ):
        assert main(["atlas", str(folder), "--out", str(out), *argv]) == 2
        error = capsys.readouterr().err
        assert words in error and "proteins:" not in error, "refused before any work"
