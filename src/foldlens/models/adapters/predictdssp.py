"""The adapter of PredictDSSP's network (:class:`~foldlens.models.predictdssp.PredictDSSPNet`).

Input: the one-hot sequence, ``(1, 20, L)``. One head, ``ss3``: logits H, E, C (softmax). The
weights come from the PyPI package (``pip install --no-deps predictdssp==1.3.1``); without it
the model is not offered. A bidirectional LSTM has no exact rule for deconvnet or guided
backpropagation, so the engine's audit marks those approximate; the gradient family is exact.
Every output depends on the whole chain (receptive field unbounded).
"""

from __future__ import annotations

from torch import nn

from ...protein.labels import SS3
from ..adapter import ModelAdapter
from ..predictdssp import PredictDSSPNet, weights_path
from ..spec import HeadSpec
from .one_hot_input import ONE_HOT_GROUPS, OneHotInput


class PredictDSSPAdapter(OneHotInput, ModelAdapter):
    name = "predictdssp"
    description = (
        "PredictDSSP 1.3.1 (Holehouse lab): a two-layer bidirectional LSTM on the one-hot "
        "sequence, then a linear layer per residue: 3-state secondary structure."
    )
    groups = ONE_HOT_GROUPS
    heads = [  # noqa: RUF012 (read only)
        HeadSpec("ss3", "per-residue", "B×3×L", "3-state secondary structure", "softmax",
                 classes=list(SS3)),
    ]  # fmt: skip

    def build(self) -> nn.Module:
        return PredictDSSPNet()

    def load(self) -> nn.Module:
        return PredictDSSPNet.load()

    def weights(self) -> bytes:
        return weights_path().read_bytes()
