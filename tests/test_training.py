"""Training and evaluation, on the shipped fixture only (a few steps)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from foldlens.cli import main
from foldlens.data.chains import ChainSet
from foldlens.evaluate import (
    ChainStats,
    bootstrap,
    metrics,
    paired_differences,
    per_residue_stats,
)
from foldlens.models.default import DefaultNet
from foldlens.protein.labels import SS8_TO_SS3
from foldlens.train import (
    ParameterAverage,
    TrainConfig,
    averaged_weights_path,
    checkpoint_step,
    save_weights,
    train,
    trained_network,
)

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
    assert (tmp_path / "t-loss.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean loss over the last 100 steps" in capsys.readouterr().out
    model = DefaultNet()
    model.load_state_dict(
        {k: v.float() for k, v in torch.load(tmp_path / "t.pt", weights_only=True).items()}
    )


def test_fine_tuning_starts_from_the_given_weights(tmp_path: Path) -> None:
    """At learning rate 0 (AdamW's decoupled decay then scales by 1 − 0 · λ = 1) a fine-tuning run
    ends exactly where it started: the weights it was given, not fresh ones."""
    torch.manual_seed(7)
    start = DefaultNet()
    save_weights(start, tmp_path / "start.pt")
    config = TrainConfig(
        steps=2, batch=2, window=40, crop=16, warmup=1, learning_rate=0.0,
        init_weights=str(tmp_path / "start.pt"),
    )  # fmt: skip
    train(ChainSet.load(FIXTURE), config, tmp_path / "f.ckpt", tmp_path / "f.pt")
    given = torch.load(tmp_path / "start.pt", weights_only=True)
    ended = torch.load(tmp_path / "f.pt", weights_only=True)
    assert given.keys() == ended.keys()
    assert all(torch.equal(given[k], ended[k]) for k in given)


def test_fine_tuning_a_deepened_network(tmp_path: Path) -> None:
    """``blocks1d``/``blocks2d`` deepen the given weights before training; the weights written
    load in their own (deeper) shape, and at learning rate 0 compute what the given ones did."""
    torch.manual_seed(7)
    start = DefaultNet(channels=16, pair_channels=8, blocks1d=2, blocks2d=2).eval()
    save_weights(start, tmp_path / "start.pt")
    config = TrainConfig(
        steps=2, batch=2, window=40, crop=16, warmup=1, learning_rate=0.0,
        init_weights=str(tmp_path / "start.pt"), blocks1d=4, blocks2d=3,
    )  # fmt: skip
    train(ChainSet.load(FIXTURE), config, tmp_path / "d.ckpt", tmp_path / "d.pt")
    deep, shallow = (
        trained_network("default", tmp_path / "d.pt"),
        trained_network("default", tmp_path / "start.pt"),
    )
    assert isinstance(deep, DefaultNet) and (len(deep.trunk1d), len(deep.trunk2d)) == (4, 3)
    x = torch.randn(1, 41, 30)
    with torch.no_grad():
        ours, theirs = deep(x), shallow(x)
    assert all(torch.equal(ours[name], theirs[name]) for name in theirs)


def test_parameter_average_is_the_mean_of_the_states() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    average, states = ParameterAverage(model), []
    generator = torch.Generator().manual_seed(3)
    for _ in range(5):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        states.append({k: v.double().clone() for k, v in model.state_dict().items()})
        average.update(model)
    for name, mean in average.mean.items():
        expected = torch.stack([state[name] for state in states]).mean(0)
        torch.testing.assert_close(mean, expected, rtol=0, atol=1e-12)


def test_training_writes_the_tail_average(tmp_path: Path) -> None:
    """The averaged weights are the mean of the model's states after steps 3 and 4 (read from the
    checkpoint written after every step), and a resumed run carries the running average on."""
    chains = ChainSet.load(FIXTURE)
    config = TrainConfig(
        steps=4, batch=2, window=40, crop=16, warmup=1, checkpoint_every=1, average_from=3
    )
    states: dict[int, dict[str, torch.Tensor]] = {}

    def read_checkpoint(step: int, total: int, record: dict[str, float]) -> None:
        # Called before the checkpoint of ``step`` is written: it holds step − 1.
        if step == 4:
            states[3] = torch.load(tmp_path / "a.ckpt", weights_only=True)["model"]

    train(chains, config, tmp_path / "a.ckpt", tmp_path / "a.pt", read_checkpoint)
    states[4] = torch.load(tmp_path / "a.ckpt", weights_only=True)["model"]
    averaged = torch.load(averaged_weights_path(tmp_path / "a.pt"), weights_only=True)
    assert averaged_weights_path(tmp_path / "a.pt").name == "a-averaged.pt"
    for name, value in averaged.items():
        mean = (states[3][name].double() + states[4][name].double()) / 2
        assert value.dtype == torch.float16
        torch.testing.assert_close(value.float(), mean.half().float(), rtol=0, atol=1e-3)
    assert not torch.equal(averaged["embed.weight"], states[4]["embed.weight"].half())

    def stop_at_four(step: int, total: int, record: dict[str, float]) -> None:
        if step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(chains, config, tmp_path / "b.ckpt", tmp_path / "b.pt", stop_at_four)
    carried = torch.load(tmp_path / "b.ckpt", weights_only=True)["average"]
    assert carried["count"] == 1
    train(chains, config, tmp_path / "b.ckpt", tmp_path / "b.pt")
    assert torch.load(tmp_path / "b.ckpt", weights_only=True)["average"]["count"] == 2


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
    report = json.loads(out.read_text())
    assert set(report["modes"]) == {"profile", "single"} and report["pair_chains"] == 3


def test_evaluate_other_weights_against_the_shipped_ones(tmp_path: Path) -> None:
    """``--weights`` evaluates the model with a training run's weights (the report names the
    file); ``--against`` adds the paired differences to other weights on the same chains."""
    torch.manual_seed(0)
    save_weights(DefaultNet(), tmp_path / "untrained.pt")
    shipped = Path(str(resources.files("foldlens") / "models" / "weights" / "default.pt"))
    runs = {
        "shipped": [],
        "untrained": ["--weights", str(tmp_path / "untrained.pt"), "--against", str(shipped)],
    }
    reports = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.json"
        options = ["--chains", str(FIXTURE), "--pair-chains", "2", "--resamples", "10"]
        assert main(["evaluate", *options, "--no-baselines", "--json", str(out), *extra]) == 0
        reports[name] = json.loads(out.read_text())
    assert "weights" not in reports["shipped"]
    untrained = reports["untrained"]
    assert untrained["weights"] == str(tmp_path / "untrained.pt")
    assert untrained["reference_weights"] == str(shipped)
    for mode in ("profile", "single"):
        ours, theirs = untrained["modes"][mode], reports["shipped"]["modes"][mode]
        differences = untrained["modes"][f"{mode} − reference"]
        assert set(differences) == {n for n in ours if not n.startswith("constant-guess")}
        for name, difference in differences.items():
            expected = ours[name]["value"] - theirs[name]["value"]
            assert difference["value"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert differences["Q3"]["value"] != 0


def test_paired_differences_resample_each_chain_with_its_partner() -> None:
    """Ours gets one more residue right than theirs in every 10-residue chain, while the chains'
    own accuracy varies widely: every paired resample differs by exactly 0.1 in Q3."""
    rng = np.random.default_rng(1)
    theirs = [ChainStats(q3=(int(c), 10)) for c in rng.integers(0, 9, size=40)]
    ours = [ChainStats(q3=(t.q3[0] + 1, 10)) for t in theirs if t.q3 is not None]
    value, low, high = paired_differences(ours, theirs, resamples=200)["Q3"]
    assert value == pytest.approx(0.1, abs=1e-12)
    assert low == pytest.approx(0.1, abs=1e-12) and high == pytest.approx(0.1, abs=1e-12)
    unpaired = bootstrap(ours, resamples=200)["Q3"]
    assert unpaired[2] - unpaired[1] > 0.05, "the chains' spread shows when they are not paired"


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
