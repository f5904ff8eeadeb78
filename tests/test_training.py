"""Training and evaluation, on the shipped fixture only (a few steps)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from foldlens.cli import main
from foldlens.data.chains import ChainSet
from foldlens.evaluate import bootstrap, metrics, per_residue_stats
from foldlens.models.default import DefaultNet
from foldlens.protein.labels import SS8_TO_SS3
from foldlens.train import TrainConfig, checkpoint_step, train

FIXTURE = Path(str(resources.files("foldlens") / "resources" / "fixture.npz"))


def small(steps: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch=2, window=48, crop=16, warmup=2, checkpoint_every=2)


def test_interrupted_training_resumes(tmp_path: Path) -> None:
    """A run stopped after step 2 and started again follows the uninterrupted run."""
    chains = ChainSet.load(FIXTURE)
    history = train(chains, small(4), tmp_path / "a.ckpt", tmp_path / "a.pt")
    assert len(history) == 4 and all(np.isfinite(h["loss"]) for h in history)

    def stop_after_two(step: int, total: int, record: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(chains, small(4), tmp_path / "b.ckpt", tmp_path / "b.pt", stop_after_two)
    assert checkpoint_step(tmp_path / "b.ckpt") == 2
    resumed = train(chains, small(4), tmp_path / "b.ckpt", tmp_path / "b.pt")
    losses = [h["loss"] for h in resumed]
    assert losses[:2] == [h["loss"] for h in history[:2]]
    # Adam's moments were stored in bfloat16: close, not bit-identical.
    assert losses[2:] == pytest.approx([h["loss"] for h in history[2:]], rel=1e-3)
    first = torch.load(tmp_path / "a.pt", weights_only=True)
    second = torch.load(tmp_path / "b.pt", weights_only=True)
    for key in first:
        torch.testing.assert_close(first[key].float(), second[key].float(), rtol=1e-2, atol=1e-3)


def test_checkpoint_of_another_configuration_is_refused(tmp_path: Path) -> None:
    chains = ChainSet.load(FIXTURE)
    train(chains, small(2), tmp_path / "c.ckpt", tmp_path / "c.pt")
    with pytest.raises(ValueError, match="another configuration"):
        train(
            chains,
            TrainConfig(steps=3, batch=2, window=48, crop=16),
            tmp_path / "c.ckpt",
            tmp_path / "c.pt",
        )


def test_train_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--steps", "3", "--batch", "2", "--window", "40", "--crop", "16"]
    paths = ["--checkpoint", str(tmp_path / "t.ckpt"), "--weights", str(tmp_path / "t.pt")]
    code = main(["train", "--chains", str(FIXTURE), *options, *paths])
    assert code == 0 and (tmp_path / "t.pt").exists()
    assert (tmp_path / "default-loss.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean loss over the last 100 steps" in capsys.readouterr().out
    model = DefaultNet()
    model.load_state_dict(
        {k: v.float() for k, v in torch.load(tmp_path / "t.pt", weights_only=True).items()}
    )


def test_metrics_against_direct_computation() -> None:
    chains = ChainSet.load(FIXTURE)
    rng = np.random.default_rng(0)
    stats, correct, total, xs, ys = [], 0, 0, [], []
    for k in range(len(chains)):
        chain = chains[k]
        ss3 = rng.random((len(chain), 3))
        ss8 = rng.random((len(chain), 8))
        rsa = rng.random(len(chain))
        stats.append(per_residue_stats({"ss3": ss3, "ss8": ss8, "rsa": rsa}, chain))
        correct += int((ss3.argmax(1) == SS8_TO_SS3[chain.ss8]).sum())
        total += len(chain)
        xs.append(rsa)
        ys.append(chain.rsa)
    result = metrics(stats)
    assert result["Q3"] == pytest.approx(correct / total)
    assert result["rsa r"] == pytest.approx(
        np.corrcoef(np.concatenate(xs), np.concatenate(ys))[0, 1]
    )
    value, low, high = bootstrap(stats, resamples=200)["Q3"]
    assert low <= value <= high and high - low < 0.2


def test_evaluate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code = main(
        [
            "evaluate",
            "--chains",
            str(FIXTURE),
            "--pair-chains",
            "3",
            "--resamples",
            "20",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for row in (
        "Q3",
        "Q8",
        "rsa r",
        "contact precision top-L/5 >=24",
        "Cβ distance MAE 1-5",
        "constant-guess MAE 1-5",
    ):
        assert row in printed
    import json

    report = json.loads(out.read_text())
    assert set(report["modes"]) == {"profile", "single"} and report["pair_chains"] == 3


def test_seed2018_trains_and_evaluates(tmp_path: Path) -> None:
    chains = ChainSet.load(FIXTURE)
    config = TrainConfig(model="seed2018", steps=3, batch=2, window=48, crop=16, warmup=1)
    history = train(chains, config, tmp_path / "s.ckpt", tmp_path / "s.pt")
    assert len(history) == 3 and set(history[0]) >= {"dist_cb_cb", "loss"}
    from foldlens.evaluate import evaluate_model
    from foldlens.models import adapter
    from foldlens.models.seed2018 import Seed2018Net

    model = Seed2018Net()
    model.load_state_dict(
        {k: v.float() for k, v in torch.load(tmp_path / "s.pt", weights_only=True).items()}
    )
    report = evaluate_model(model.eval(), adapter("seed2018"), chains, pair_chains=2, resamples=10)
    assert "Q3" not in report["modes"]["single"]
    assert "contact precision top-L/5 >=24" in report["modes"]["single"]


def test_baselines_are_compared_on_the_same_chains() -> None:
    from foldlens.evaluate import evaluate_model
    from foldlens.models import adapter, load

    chains = ChainSet.load(FIXTURE)

    def always_helix(sequence: str) -> np.ndarray:
        probabilities = np.zeros((len(sequence), 3))
        probabilities[:, 0] = 1.0
        return probabilities

    report = evaluate_model(
        load("default"),
        adapter("default"),
        chains,
        pair_chains=0,
        resamples=50,
        baselines={"helix": always_helix},
    )
    single = report["modes"]["single"]
    true3 = np.concatenate([SS8_TO_SS3[chains[k].ss8] for k in range(len(chains))])
    assert single["Q3 helix"]["value"] == pytest.approx(float(np.mean(true3 == 0)))
    assert single["Q3 − Q3 helix"]["value"] == pytest.approx(
        single["Q3"]["value"] - single["Q3 helix"]["value"]
    )
    low, high = single["Q3 − Q3 helix"]["low"], single["Q3 − Q3 helix"]["high"]
    assert low <= single["Q3 − Q3 helix"]["value"] <= high
