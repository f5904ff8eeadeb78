"""The two pretrained secondary-structure baselines: reprof (Debian) and PredictDSSP (PyPI).

reprof needs ``apt-get install reprof`` (its networks come with the dependency
``librg-reprof-bundle-perl``); PredictDSSP needs ``pip install --no-deps predictdssp==1.3.1``.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from foldlens.data.chains import ChainSet
from foldlens.models import predictdssp, reprof
from foldlens.protein.alphabet import one_hot
from foldlens.protein.labels import SS8_TO_SS3

TEST_SPLIT = Path(str(resources.files("foldlens") / "resources" / "test_split.npz"))
BAD_SEQUENCES = ["", "ACDXK", "ACD1K", "ACD-K", "MKBZ"]

needs_reprof = pytest.mark.skipif(
    not (reprof.MODEL_DIR / "fu.model").is_file(),
    reason="reprof's networks are missing: apt-get install librg-reprof-bundle-perl",
)
needs_reprof_command = pytest.mark.skipif(
    shutil.which("reprof") is None,
    reason="the reprof command is missing: apt-get install reprof",
)


def _predictdssp_installed() -> bool:
    try:
        predictdssp.weights_path()
    except FileNotFoundError:
        return False
    return True


needs_predictdssp = pytest.mark.skipif(
    not _predictdssp_installed(),
    reason="PredictDSSP is missing: pip install --no-deps predictdssp==1.3.1",
)


@pytest.fixture(scope="module")
def chains() -> ChainSet:
    return ChainSet.load(TEST_SPLIT)


def _q3(predict: reprof.Reprof | predictdssp.PredictDSSPNet, chains: ChainSet, n: int) -> float:
    correct = total = 0
    for i in range(n):
        chain = chains[i]
        probabilities = predict.predict_ss3(chain.sequence)
        assert probabilities.shape == (len(chain), 3)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
        correct += int((probabilities.argmax(axis=1) == SS8_TO_SS3[chain.ss8]).sum())
        total += len(chain)
    return correct / total


def _reprof_command(sequence: str, folder: Path) -> list[tuple[str, int, int, int, int]]:
    """``PHEL RI_S pH pE pL`` of each residue, as printed by ``reprof -i query.fasta``."""
    fasta, out = folder / "query.fasta", folder / "query.reprof"
    fasta.write_text(f">query\n{sequence}\n")
    subprocess.run(["reprof", "-i", str(fasta), "-o", str(out)], check=True, capture_output=True)
    rows = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows[0][:7] == ["No", "AA", "PHEL", "RI_S", "pH", "pE", "pL"]
    return [(r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows[1:]]


def _as_printed(probabilities: np.ndarray) -> list[tuple[str, int, int, int, int]]:
    """reprof's printout of jury probabilities: argmax state, ⌊10 (p₁ − p₂)⌋ and ⌊100 p⌋."""
    ordered = np.sort(probabilities, axis=1)
    reliability = np.floor(10 * (ordered[:, 2] - ordered[:, 1])).astype(int)
    percent = np.floor(100 * probabilities).astype(int)
    states = np.array(list("HEL"))[probabilities.argmax(axis=1)]
    return [
        (str(s), int(r), int(h), int(e), int(c))
        for s, r, (h, e, c) in zip(states, reliability, percent, strict=True)
    ]


@pytest.fixture(scope="module")
def reprof_model() -> reprof.Reprof:
    return reprof.Reprof.load()


@pytest.fixture(scope="module")
def predictdssp_model() -> predictdssp.PredictDSSPNet:
    return predictdssp.PredictDSSPNet.load()


@needs_reprof
@needs_reprof_command
@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_reprof_port_equals_the_command(
    index: int, chains: ChainSet, reprof_model: reprof.Reprof, tmp_path: Path
) -> None:
    sequence = chains[index].sequence
    port = _as_printed(reprof_model.predict_ss3(sequence))
    assert port == _reprof_command(sequence, tmp_path)


@needs_reprof
@needs_reprof_command
def test_reprof_port_equals_the_command_on_short_chains(
    reprof_model: reprof.Reprof, tmp_path: Path
) -> None:
    for sequence in ["M", "MK", "ACDEFGHIK"]:  # shorter than every window
        assert _as_printed(reprof_model.predict_ss3(sequence)) == _reprof_command(
            sequence, tmp_path
        )


@needs_reprof
def test_reprof_q3(chains: ChainSet, reprof_model: reprof.Reprof) -> None:
    assert _q3(reprof_model, chains, 100) > 0.6


@needs_reprof
def test_reprof_module_function_and_batch(reprof_model: reprof.Reprof) -> None:
    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    single = reprof.predict_ss3(sequence)
    np.testing.assert_array_equal(single, reprof_model.predict_ss3(sequence))
    batch = torch.stack([one_hot(sequence), one_hot(sequence[::-1])])
    with torch.no_grad():
        out = reprof_model(batch)
    assert out.shape == (2, 3, len(sequence))
    np.testing.assert_allclose(out[0].T.numpy(), single, rtol=0, atol=1e-12)


def test_reprof_missing_package_is_explained(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="librg-reprof-bundle-perl"):
        reprof.Reprof.load(tmp_path)


@needs_predictdssp
def test_predictdssp_loads_weights_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    load = torch.load

    def recording_load(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("weights_only"))
        return load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    network = predictdssp.PredictDSSPNet.load()
    assert calls == [True]
    assert not network.training


@needs_predictdssp
def test_predictdssp_q3(chains: ChainSet, predictdssp_model: predictdssp.PredictDSSPNet) -> None:
    assert _q3(predictdssp_model, chains, 100) > 0.65


@needs_reprof
@pytest.mark.parametrize("bad", BAD_SEQUENCES)
def test_reprof_rejects_bad_sequences(bad: str, reprof_model: reprof.Reprof) -> None:
    with pytest.raises(ValueError):
        reprof_model.predict_ss3(bad)


@needs_predictdssp
@pytest.mark.parametrize("bad", BAD_SEQUENCES)
def test_predictdssp_rejects_bad_sequences(
    bad: str, predictdssp_model: predictdssp.PredictDSSPNet
) -> None:
    with pytest.raises(ValueError):
        predictdssp_model.predict_ss3(bad)
