"""Training a registered network (``foldlens train``), resumable from a checkpoint.

Loss per batch (masked to real residues and pairs), for ``default``:

    L = CE(ss8) + ½ CE(ss3) + BCE(rsa) + ¼ Σ_maps CE(distogram) + ½ BCE(contact)

and for ``seed2018`` (distance regression, as in 2018): ``¼ Σ_maps SmoothL1(d̂, min(d, 22 Å))``.

AdamW with a linear warm-up and a cosine decay to zero over ``steps``, from fresh weights or, with
``init_weights``, from a trained model's (fine-tuning: a fresh optimizer on those weights), which
``blocks1d``/``blocks2d`` can deepen first without changing what it computes. With
``average_from`` = s > 0 the run also keeps the uniform average of the parameters after every
step from s on (tail averaging: θ̄ = 1/(T − s + 1) Σ_{t=s..T} θ_t; the network has no normalisation
layer, so the average is a network of the same shape and cost) and writes it beside the final
weights as ``<weights>-averaged.pt``. A checkpoint (model, optimizer, average, step, random
state, loss history) is written every ``checkpoint_every`` steps and at the end; a run started
with the same checkpoint path continues where it stopped (the optimizer's moments are kept in
bfloat16, so a resumed run follows an uninterrupted one closely, not bit for bit). The finished
weights are written as a float16 state dict, the file that ``foldlens.models.load`` reads.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data.chains import ChainSet
from .data.crops import Batch, sample_batch
from .models.adapter import with_state
from .models.default import DefaultNet
from .models.registry import adapter, build
from .protein.labels import DISTANCE_MAPS


@dataclass(frozen=True)
class TrainConfig:
    model: str = "default"
    steps: int = 10000
    batch: int = 8
    window: int = 256
    crop: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup: int = 200
    profile_drop: float = 0.5
    seed: int = 0
    checkpoint_every: int = 100
    init_weights: str = ""
    blocks1d: int = 0
    blocks2d: int = 0
    average_from: int = 0


FAR = 22.0


def seed2018_losses(out: dict[str, torch.Tensor], batch: Batch) -> dict[str, torch.Tensor]:
    """Smooth L1 of each predicted distance map against the true one, capped at ``FAR`` Å."""
    pair = batch.pair_mask
    return {
        name: F.smooth_l1_loss(out[name][pair], batch.distances[:, k].clamp(max=FAR)[pair])
        for k, name in enumerate(DISTANCE_MAPS)
    }


def default_losses(out: dict[str, torch.Tensor], batch: Batch) -> dict[str, torch.Tensor]:
    """The terms of the default network's training loss for one batch."""
    mask = batch.mask
    rsa_terms = F.binary_cross_entropy_with_logits(out["rsa"][:, 0], batch.rsa, reduction="none")
    terms = {
        "ss8": F.cross_entropy(out["ss8"], batch.ss8, ignore_index=-1),
        "ss3": F.cross_entropy(out["ss3"], batch.ss3, ignore_index=-1),
        "rsa": rsa_terms[mask].mean(),
    }
    pair = batch.pair_mask
    for k, name in enumerate(DISTANCE_MAPS):
        target = batch.distance_bins[:, k].masked_fill(~pair, -1)
        terms[name] = F.cross_entropy(out[name], target, ignore_index=-1)
    contact = F.binary_cross_entropy_with_logits(
        out["contact"][:, 0], batch.contact, reduction="none"
    )
    terms["contact"] = contact[pair].mean()
    return terms


Objective = Callable[[dict[str, torch.Tensor], Batch], dict[str, torch.Tensor]]
OBJECTIVES: dict[str, tuple[Objective, dict[str, float]]] = {
    "default": (
        default_losses,
        {"ss8": 1.0, "ss3": 0.5, "rsa": 1.0, "contact": 0.5} | dict.fromkeys(DISTANCE_MAPS, 0.25),
    ),
    "seed2018": (seed2018_losses, dict.fromkeys(DISTANCE_MAPS, 0.25)),
}


def learning_rate(config: TrainConfig, step: int) -> float:
    if step < config.warmup:
        return config.learning_rate * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    rng: np.random.Generator,
    config: TrainConfig,
    history: list[dict[str, float]],
    average: ParameterAverage | None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    optimizer_state = optimizer.state_dict()
    # Adam's moments in bfloat16 halve the file (it is committed); loading casts them back.
    # state_dict() shares the live per-parameter dicts, so build new ones.
    optimizer_state["state"] = {
        key: {
            name: value.to(torch.bfloat16) if name in ("exp_avg", "exp_avg_sq") else value
            for name, value in moments.items()
        }
        for key, moments in optimizer_state["state"].items()
    }
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer_state,
        "step": step,
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "config": asdict(config),
        "history": history,
        "average": average.state() if average is not None else None,
    }
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def checkpoint_step(path: Path) -> int:
    """The step a checkpoint was written at (0 when there is none)."""
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])


def save_weights(model: nn.Module, path: Path) -> None:
    """The float16 state dict that is shipped in the package."""
    save_state(model.state_dict(), path)


def save_state(state: dict[str, torch.Tensor], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, path)


def averaged_weights_path(weights: Path) -> Path:
    return weights.with_name(f"{weights.stem}-averaged{weights.suffix}")


class ParameterAverage:
    """The running uniform mean of a model's state: after n updates, θ̄_n = θ̄_{n−1} + (θ_n −
    θ̄_{n−1}) / n, kept in float64 so that thousands of updates do not accumulate rounding."""

    def __init__(self, model: nn.Module) -> None:
        self.count = 0
        self.mean = {k: torch.zeros_like(v, dtype=torch.float64) for k, v in _floats(model)}

    def update(self, model: nn.Module) -> None:
        self.count += 1
        with torch.no_grad():
            for name, value in _floats(model):
                mean = self.mean[name]
                mean += (value.double() - mean) / self.count

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean}

    def load(self, state: dict[str, Any]) -> None:
        self.count = int(state["count"])
        self.mean = state["mean"]


def _floats(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(k, v) for k, v in model.state_dict().items() if v.is_floating_point()]


def trained_network(name: str, weights: Path) -> nn.Module:
    """Registered model ``name`` (eval mode) with the weights in the file ``weights`` (a state
    dict such as :func:`save_weights` writes), in the shape those weights have."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return with_state(adapter(name).build_for(state), state)


def initial_network(config: TrainConfig) -> nn.Module:
    """What training starts from: fresh weights or ``init_weights``, deepened to ``blocks1d``
    and ``blocks2d`` residual blocks when they are set (:meth:`DefaultNet.deepened`)."""
    if not config.init_weights:
        model = build(config.model)
    else:
        model = trained_network(config.model, Path(config.init_weights))
    if not (config.blocks1d or config.blocks2d):
        return model
    if not isinstance(model, DefaultNet):
        raise ValueError(f"only the default network can be deepened, not {config.model!r}")
    return model.deepened(
        config.blocks1d or len(model.trunk1d), config.blocks2d or len(model.trunk2d)
    )


def train(
    chains: ChainSet,
    config: TrainConfig,
    checkpoint: Path,
    weights: Path,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train (or resume) ``config.model`` on ``chains``; returns the loss history."""
    if config.model not in OBJECTIVES:
        raise ValueError(f"cannot train {config.model!r}; trainable models: {list(OBJECTIVES)}")
    objective, weights_of = OBJECTIVES[config.model]
    run_on = device()
    torch.manual_seed(config.seed)
    model = initial_network(config).to(run_on)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    rng = np.random.default_rng(config.seed)
    step, history = 0, []
    average = ParameterAverage(model) if config.average_from > 0 else None
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=run_on, weights_only=True)
        if state["config"] != asdict(config):
            raise ValueError(
                f"{checkpoint} was written with another configuration {state['config']}; "
                "pass the same settings or a new checkpoint path"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, history = state["step"], state["history"]
        if average is not None:
            average.load(state["average"])
    model.train()
    while step < config.steps:
        started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        batch = sample_batch(
            chains, rng, config.batch, config.window, config.crop, config.profile_drop
        )
        batch = batch.to(run_on)
        terms = objective(model(batch.features, batch.rows, batch.cols, batch.mask), batch)
        loss = torch.stack([weights_of[name] * value for name, value in terms.items()]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if average is not None and step >= config.average_from:
            average.update(model)
        record = {name: value.item() for name, value in terms.items()}
        record["loss"] = loss.item()
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        if progress is not None:
            progress(step, config.steps, record)
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(checkpoint, model, optimizer, step, rng, config, history, average)
    save_weights(model.eval(), weights)
    if average is not None and average.count:
        save_state(average.mean, averaged_weights_path(weights))
    (weights.with_suffix(".json")).write_text(
        json.dumps({"config": asdict(config), "steps": step}, indent=2)
    )
    return history


def history_summary(history: list[dict[str, Any]], last: int = 100) -> dict[str, float]:
    """Mean of each loss term over the last ``last`` steps."""
    tail = history[-last:]
    return {key: float(np.mean([h[key] for h in tail])) for key in tail[0]} if tail else {}


def plot_history(history: list[dict[str, float]], path: Path, window: int = 50) -> Path:
    """Each loss term against the step, smoothed by a running mean over ``window`` steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in history[0] if name != "seconds"]
    fig, ax = plt.subplots(figsize=(9, 5))
    kernel = np.ones(window) / window
    for name in names:
        values = np.array([h[name] for h in history])
        smooth = np.convolve(values, kernel, mode="valid") if len(values) >= window else values
        ax.plot(np.arange(len(smooth)) + (len(values) - len(smooth)) + 1, smooth, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (running mean of {window} steps)")
    ax.set_yscale("log")
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
