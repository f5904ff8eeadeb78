"""The command line, through its real entry points."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from foldlens.cli import main


def test_methods_command_lists_every_method() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "foldlens", "methods"], capture_output=True, text=True, check=True
    )
    methods, options = result.stdout.split("\noptions")
    for name in ("gradient", "deconvnet", "guided_backprop", "integrated_gradients"):
        assert re.search(rf"^{name} +yes +yes ", methods, re.M), name
    for name in ("occlusion", "mutagenesis"):  # they perturb residues: no layer form
        assert re.search(rf"^{name} +yes +no ", methods, re.M), name
    assert re.search(r"^integrated_gradients +steps +32 +1–256 +Gauss", options, re.M)
    assert re.search(r"^mutagenesis +window +3 +0–250 ", options, re.M)


def test_methods_command_says_which_are_exact_for_a_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["methods", "--model", "reprof"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^guided_backprop +no +yes .*approximate here", printed, re.M | re.S)
    assert re.search(r"^gradient +yes", printed, re.M)


def test_models_command_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^default +1-\w+ +one-hot \(20\), profile \(20\)", printed, re.M)
    assert re.search(r"^dist_cb_cb +B×37×L×L +expected distance +180 residues", printed, re.M)
    assert re.search(r"^plddt .* whole protein", printed, re.M)
    assert "{" not in printed  # no raw dictionaries


def test_explain_counts_residues_from_one_in_its_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    code = main(["explain", sequence, "--target", "rsa@34", "--out", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "residue 34 is past the end" in error and "33 residues (numbered 1–33)" in error


def test_explain_demo_writes_faithful_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain-demo", "--out", str(tmp_path), "--steps", "250", "--residue", "41"]) == 0
    printed = capsys.readouterr()
    assert "explained residue 41 " in printed.out and "training the demo network" in printed.err
    arrays = np.load(tmp_path / "maps.npz")
    length = len(str(arrays["sequence"]))
    assert arrays["guided_backprop"].shape == (20, length)
    assert arrays["influence"].shape == (length, length)
    # Residue 41 is index 40: the network sees indices 36..44 (receptive field 9); nothing
    # outside may carry attribution.
    for method in ("gradient", "deconvnet", "guided_backprop", "integrated_gradients", "occlusion"):
        values = np.abs(arrays[method])
        assert values[:, 36:45].sum() > 0 and values[:, :36].sum() == values[:, 45:].sum() == 0
    # The true score reads residues 37..43: a faithful map of a well-trained net stays there.
    for method in ("gradient", "input_x_gradient", "integrated_gradients"):
        values = np.abs(arrays[method])
        assert values[:, 37:44].sum() > 0.9 * values.sum(), method
    for figure in ("maps.png", "influence.png"):
        assert (tmp_path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_demo_refuses_a_bad_residue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain-demo", "--out", str(tmp_path), "--steps", "5", "--residue", "500"]) == 2
    assert "--residue must be 1–76" in capsys.readouterr().err


def test_explain_writes_every_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import resources

    import numpy as np

    pdb = Path(str(resources.files("foldlens") / "resources" / "examples" / "1k61C.pdb"))
    code = main(
        [
            "explain",
            str(pdb),
            "--target",
            "dist_cb_cb@12,40",
            "--method",
            "guided_backprop",
            "mutagenesis",
            "--options",
            '{"mutagenesis": {"window": 1}}',
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    progress = capsys.readouterr().err  # a bar per group of methods: percent, elapsed<left
    assert re.search(r"mutagenesis: +100%\|.*\| 100/100 \[\d\d:\d\d<\d\d:\d\d", progress)
    for method in ("guided_backprop", "mutagenesis"):
        for suffix in (
            "figure.png",
            "figure.svg",
            "figure.pdf",
            "arrays.npz",
            "arrays.csv",
            "arrays.json",
            "pdb.pdb",
            "pymol.pml",
            "logo.png",
            "logo.svg",
            "logo.pdf",
        ):
            assert (tmp_path / f"1k61C-{method}-{suffix}").stat().st_size > 0
    arrays = np.load(tmp_path / "1k61C-guided_backprop-arrays.npz")
    assert arrays["attribution"].shape == (41, 60) and str(arrays["sequence"]).startswith("RGHRF")
    assert np.isnan(np.load(tmp_path / "1k61C-mutagenesis-arrays.npz")["delta"][0]).all()


def test_explain_to_a_layer_writes_the_2018_grid(tmp_path: Path) -> None:
    import numpy as np

    code = main(
        ["explain", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKV",
         "--model", "seed2018", "--target", "dist_cb_cb@10,30", "--wrt", "conv1",
         "--method", "guided_backprop", "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    arrays = np.load(tmp_path / "query-guided_backprop-arrays.npz")
    assert arrays["grid"].shape == (21, 21, 15, 15) and str(arrays["wrt"]) == "conv1"
    assert arrays["pair"].shape == (59, 59) and list(arrays["grid_rows"]) == list(range(2, 17))
    assert (tmp_path / "query-guided_backprop-figure.png").stat().st_size > 0
    assert not (tmp_path / "query-guided_backprop-logo.png").exists()


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("dist_cb_cb@12,40", {"head": "dist_cb_cb", "i": 11, "j": 39}),
        ("ss3:H@25", {"head": "ss3", "class": "H", "i": 24}),
        ("rsa@1", {"head": "rsa", "i": 0}),
        (
            "unit:trunk2d.3.conv1:7@12,40",
            {"layer": "trunk2d.3.conv1", "channel": 7, "i": 11, "j": 39},
        ),
    ],
)
def test_parse_target(text: str, target: dict) -> None:
    from foldlens.cli import parse_target

    assert parse_target(text) == target


@pytest.mark.parametrize(
    "text", ["dist_cb_cb", "ss3@0", "rsa@a", "unit:x@3", "a:b:c@1", "rsa@1,2,3"]
)
def test_bad_explain_targets_exit_2(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "MKTAYIAKQR", "--target", text, "--out", str(tmp_path)]) == 2
    assert "foldlens: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["explain", "MKTAYIAKQR", "--target", "rsa@3", "--options", "{bad"], "not valid JSON"),
        (["analyze", "MKTAYIAKQR", "--target", "rsa@3", "--options", "[1]"], "must map names"),
        (["analyze", "MKTAYIAKQR", "--target", "rsa@3", "--analysis", "bogus"], "unknown analysis"),
    ],
)
def test_bad_options_exit_2(
    command: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--out", str(tmp_path)]) == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "lots", "inf", "nan"])
def test_serve_refuses_a_bad_cache_budget(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before anything starts, with the reason (argparse exits 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--cache-mb", value])
    assert stopped.value.code == 2
    assert "--cache-mb" in capsys.readouterr().err
