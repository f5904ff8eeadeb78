"""``foldlens predict`` through the command line, on every input kind."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from foldlens.cli import main
from schema import SCHEMA

EXAMPLES = Path(str(resources.files("foldlens") / "resources" / "examples"))


def check_output(folder: Path, sequence: str, mode: str) -> None:
    arrays = np.load(folder / "predictions.npz")
    document = json.loads((folder / "predictions.json").read_text())
    assert set(arrays.files) == set(document) == set(SCHEMA)
    length = len(sequence)
    assert str(arrays["sequence"]) == document["sequence"] == sequence
    assert document["mode"] == mode
    assert arrays["ss3"].shape == (length, 3) and np.allclose(arrays["ss3"].sum(1), 1, atol=1e-5)
    assert arrays["ss8"].shape == (length, 8) and np.allclose(arrays["ss8"].sum(1), 1, atol=1e-5)
    assert arrays["rsa"].shape == (length,) and ((arrays["rsa"] >= 0) & (arrays["rsa"] <= 1)).all()
    for name in ("dist_ca_ca", "dist_ca_cb", "dist_cb_ca", "dist_cb_cb"):
        assert arrays[name].shape == (length, length)
        assert (arrays[name] > 2).all() and (arrays[name] < 21).all()
    assert np.allclose(arrays["dist_ca_ca"], arrays["dist_ca_ca"].T, atol=1e-4)
    assert ((arrays["contact"] >= 0) & (arrays["contact"] <= 1)).all()
    np.testing.assert_allclose(np.array(document["contact"]), arrays["contact"], atol=1e-4)
    for plot in ("distance_maps.png", "tracks.png"):
        assert (folder / plot).read_bytes()[:4] == b"\x89PNG"


def test_literal_sequence(tmp_path: Path) -> None:
    assert main(["predict", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", "--out", str(tmp_path)]) == 0
    check_output(tmp_path, "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", "single")


def test_multi_record_fasta(tmp_path: Path) -> None:
    fasta = tmp_path / "two.fasta"
    fasta.write_text(">first\nMKTAYIAKQRQISFVK\n>second\nGSHMLEDPVAGLLQK\n")
    assert main(["predict", str(fasta), "--out", str(tmp_path / "out")]) == 0
    check_output(tmp_path / "out" / "first", "MKTAYIAKQRQISFVK", "single")
    check_output(tmp_path / "out" / "second", "GSHMLEDPVAGLLQK", "single")


def test_a_bad_record_is_reported_and_the_others_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fasta = tmp_path / "three.fasta"
    fasta.write_text(
        ">first\nMKTAYIAKQRQISFVK\n>broken\nMKTXAYIAK\n>../../outside\nGSHMLEDPVAGLLQK\n"
    )
    assert main(["predict", str(fasta), "--out", str(tmp_path / "out"), "--no-3d"]) == 1
    error = capsys.readouterr().err
    assert "skipped record 'broken' has 'X' at position 4" in error
    check_output(tmp_path / "out" / "first", "MKTAYIAKQRQISFVK", "single")
    check_output(tmp_path / "out" / "_.._outside", "GSHMLEDPVAGLLQK", "single")
    assert not (tmp_path / "outside").exists() and not (tmp_path / "out" / "broken").exists()


def test_msa_gives_profile_mode(tmp_path: Path) -> None:
    msa = tmp_path / "q.a3m"
    msa.write_text(">q\nMKTAYIAKQRQISFVK\n>h1\nMKSAYLAKQqRQISFIK\n>h2\nMRTAYIVKQ-QLSFVR\n")
    assert main(["predict", str(msa), "--out", str(tmp_path / "out")]) == 0
    check_output(tmp_path / "out", "MKTAYIAKQRQISFVK", "profile")


def test_structure_input(tmp_path: Path) -> None:
    example = json.loads((EXAMPLES / "examples.json").read_text())[0]
    assert main(["predict", str(EXAMPLES / example["structure"]), "--out", str(tmp_path)]) == 0
    check_output(tmp_path, example["sequence"], "single")


@pytest.mark.parametrize(
    ("argument", "content", "message"),
    [
        ("MKTAYZ", None, "'Z' at position 6"),
        ("missing.fasta", None, "no such file"),
        ("bad.a3m", ">q\nMKT\n>s\nMK\n", "differ in length"),
        ("empty.fasta", "", "no sequence"),
        ("long.fasta", ">x\n" + "A" * 1001, "the limit is 1000"),
        (
            "water.pdb",
            "HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00  0.00           O\n",
            "no protein chain",
        ),
    ],
)
def test_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argument: str,
    content: str | None,
    message: str,
) -> None:
    if content is not None:
        (tmp_path / argument).write_text(content)
        argument = str(tmp_path / argument)
    assert main(["predict", argument, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_figures_number_residues_from_one() -> None:
    """Every residue axis of every figure runs 1…L, a cell centred on its residue number."""
    from foldlens.figures import FIGURES, prediction_figure
    from foldlens.models import load
    from foldlens.predict import Query, predict

    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLG"
    prediction = predict(load("default"), Query("q", sequence))
    length = len(sequence)
    checked = 0
    for name in FIGURES:
        for ax in prediction_figure(name, prediction).axes:
            if ax.get_xlabel().startswith("residue"):
                assert ax.get_xlim() == pytest.approx((0.5, length + 0.5)), name
                checked += 1
            if ax.get_ylabel().startswith("residue"):
                assert ax.get_ylim() == pytest.approx((length + 0.5, 0.5)), name
    assert checked >= 7  # four distance maps, the contact map, the tracks, pLDDT and PAE
