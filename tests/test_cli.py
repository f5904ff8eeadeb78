"""The command line, through its real entry points."""

from __future__ import annotations

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
    for name in ("gradient", "deconvnet", "guided_backprop", "integrated_gradients", "occlusion"):
        assert name in result.stdout


def test_explain_demo_writes_faithful_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain-demo", "--out", str(tmp_path), "--steps", "250", "--residue", "40"]) == 0
    printed = capsys.readouterr()
    assert "explained residue 40" in printed.out and "training the demo network" in printed.err
    arrays = np.load(tmp_path / "maps.npz")
    length = len(str(arrays["sequence"]))
    assert arrays["guided_backprop"].shape == (20, length)
    assert arrays["influence"].shape == (length, length)
    # The network sees residues 36..44 (receptive field 9); nothing outside may carry attribution.
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
    assert "residue must be in 0..75" in capsys.readouterr().err
