"""Bring your own model: a small CNN, its adapter, and how it was trained — one file + weights.

``TinySS3Net`` reads the one-hot sequence ``(B, 20, L)`` and predicts 3-state secondary structure
and relative solvent accessibility per residue: two ReLU convolutions (kernel 9, dilations 1 and
2, so an output sees 12 residues each way) and two 1 × 1 heads. ``TinySS3Adapter`` tells foldlens
how to build its input from a protein, what its heads mean and where its weights are; foldlens
derives the rest (which attribution methods are exact, its layers) from the network itself.

Use it::

    foldlens serve --model-file examples/tiny_ss3.py:TinySS3Adapter
    foldlens predict MKTAYIAKQRQISFVKSHFSRQLEERLG --out out --model tiny_ss3 \\
        --model-file examples/tiny_ss3.py:TinySS3Adapter

or register it in Python (``foldlens.models.register(TinySS3Adapter())``), or from an installed
package through the ``foldlens.models`` entry-point group::

    [project.entry-points."foldlens.models"]
    tiny_ss3 = "tiny_ss3:TinySS3Adapter"

Train it again (about a minute on two CPU cores) with ``python examples/tiny_ss3.py``: it fits the
12 training chains shipped for foldlens' unit tests (``foldlens/resources/fixture.npz``, drawn
from the training split — never the held-out test split) and writes ``tiny_ss3.pt`` beside this
file. Twelve chains teach little: the point is the plumbing, not the accuracy.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from foldlens.models import FeatureGroup, HeadSpec, ModelAdapter
from foldlens.protein import AMINO_ACIDS, Protein, one_hot

WEIGHTS = Path(__file__).with_name("tiny_ss3.pt")
CHANNELS = 32


class TinySS3Net(nn.Module):
    """One-hot ``(B, 20, L)`` → ``{"ss3": (B, 3, L) logits, "rsa": (B, 1, L) logit}``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(len(AMINO_ACIDS), CHANNELS, 9, padding=4)
        self.conv2 = nn.Conv1d(CHANNELS, CHANNELS, 9, padding=8, dilation=2)
        self.ss3 = nn.Conv1d(CHANNELS, 3, 1)
        self.rsa = nn.Conv1d(CHANNELS, 1, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        return {"ss3": self.ss3(h), "rsa": self.rsa(h)}


class TinySS3Adapter(ModelAdapter):
    name = "tiny_ss3"
    description = (
        "An example of a user's model: two ReLU convolutions on the one-hot sequence "
        "(examples/tiny_ss3.py), trained on 12 chains. 3-state secondary structure and "
        "accessibility."
    )
    groups = [FeatureGroup("one-hot", list(AMINO_ACIDS))]  # noqa: RUF012
    heads = [  # noqa: RUF012
        HeadSpec("ss3", "per-residue", "B×3×L", "3-state secondary structure", "softmax",
                 classes=["H", "E", "C"]),
        HeadSpec("rsa", "per-residue", "B×1×L", "relative solvent accessibility", "sigmoid",
                 units="fraction of the maximum"),
    ]  # fmt: skip

    def build(self) -> nn.Module:
        return TinySS3Net()

    def weights(self) -> bytes:
        return WEIGHTS.read_bytes()

    def encode(self, protein: Protein) -> torch.Tensor:
        return one_hot(protein.sequence)[None]

    def receptive_field(self, model: nn.Module) -> dict[str, int | None]:
        return {"per-residue": 4 + 8}  # conv1 reaches 4 residues, conv2 (dilation 2) 8 more


def train(steps: int = 600, out: Path = WEIGHTS, seed: int = 0) -> list[float]:
    """Fit the network to the shipped training fixture; write float16 weights to ``out``; the
    loss of every step (cross-entropy of ss3 plus binary cross-entropy of rsa)."""
    from foldlens.data.chains import ChainSet
    from foldlens.protein.labels import SS8_TO_SS3

    chains = ChainSet.load(Path(str(resources.files("foldlens") / "resources" / "fixture.npz")))
    examples = []
    for k in range(len(chains)):
        chain = chains[k]
        x = one_hot(chain.sequence)[None]
        ss3 = torch.from_numpy(SS8_TO_SS3[chain.ss8].astype(np.int64))[None]
        rsa = torch.from_numpy(np.clip(chain.rsa, 0, 1).astype(np.float32))[None]
        examples.append((x, ss3, rsa))
    torch.manual_seed(seed)
    model = TinySS3Net()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(steps):
        x, ss3, rsa = examples[step % len(examples)]
        predicted = model(x)
        loss = F.cross_entropy(predicted["ss3"], ss3) + F.binary_cross_entropy_with_logits(
            predicted["rsa"][:, 0], rsa
        )
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        losses.append(float(loss))
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}/{steps}: loss {np.mean(losses[-100:]):.3f}")
    torch.save({k: v.half() for k, v in model.state_dict().items()}, out)
    return losses


if __name__ == "__main__":
    train()
    print(f"wrote {WEIGHTS}")
