"""PredictDSSP's 3-state secondary-structure network, loaded from its PyPI package.

PredictDSSP 1.3.1 (Holehouse lab, PyPI ``predictdssp``, MIT; a PARROT network) is a bidirectional
LSTM on the one-hot sequence: ``nn.LSTM(20, 20, num_layers=2, bidirectional=True,
batch_first=True)`` from zero initial states, then ``nn.Linear(40, 3)`` on each residue's two
top-layer hidden states, giving logits ``z`` for H, E, C; probabilities are ``softmax(z)``
(``PredictDSSP/brnn_architecture.py`` ``BRNN_MtM`` and ``py_predictor_v2.py``). Its one-hot columns
follow ``ACDEFGHIKLMNPQRSTVWY`` (``encode_sequence.py``); :class:`PredictDSSPNet` reads foldlens'
``(B, 20, L)`` one-hot (ARNDCQEGHILKMFPSTWYV) and reorders the rows itself.

The weights are the package's ``networks/dssp_2022_01_07_CB_thresh_0p8_hs20_nl2.pt``, a state dict
saved from ``nn.DataParallel`` (keys prefixed ``module.``), read with ``weights_only=True`` from
the installed package without importing it (its own dependencies need not be installed). Install
with ``pip install --no-deps predictdssp==1.3.1``.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..protein.alphabet import AMINO_ACIDS, one_hot

PACKAGE = "PredictDSSP"
WEIGHTS = Path("networks") / "dssp_2022_01_07_CB_thresh_0p8_hs20_nl2.pt"
ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
HIDDEN = 20
LAYERS = 2


def weights_path() -> Path:
    """Where the installed PredictDSSP package keeps its network's state dict."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = [] if spec is None else list(spec.submodule_search_locations or [])
    paths = [Path(folder) / WEIGHTS for folder in folders]
    found = [path for path in paths if path.is_file()]
    if not found:
        raise FileNotFoundError(
            f"PredictDSSP's weights ({WEIGHTS}) are not installed: run "
            "pip install --no-deps predictdssp==1.3.1"
        )
    return found[0]


class PredictDSSPNet(nn.Module):
    """PredictDSSP's BRNN: ``(B, 20, L)`` foldlens one-hot → ``(B, 3, L)`` logits H, E, C."""

    order: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(len(ALPHABET), HIDDEN, LAYERS, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * HIDDEN, 3)
        order = torch.tensor([AMINO_ACIDS.index(aa) for aa in ALPHABET])
        self.register_buffer("order", order, persistent=False)

    @classmethod
    def load(cls, path: Path | None = None) -> PredictDSSPNet:
        """The trained network in eval mode, from ``path`` or the installed package."""
        state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
        if not all(key.startswith("module.") for key in state):
            raise ValueError("expected PredictDSSP's DataParallel state dict (keys 'module.…')")
        network = cls()
        network.load_state_dict(
            {key.removeprefix("module."): value for key, value in state.items()}
        )
        return network.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = x.index_select(1, self.order).transpose(1, 2)  # (B, L, 20), PredictDSSP order
        hidden, _ = self.lstm(columns)
        logits: torch.Tensor = self.fc(hidden)
        return logits.transpose(1, 2)

    def predict_ss3(self, sequence: str) -> np.ndarray:
        """``(L, 3)`` float64 probabilities H, E, C of one sequence (letters of
        ARNDCQEGHILKMFPSTWYV; a ``ValueError`` names any other); rows sum to 1."""
        with torch.inference_mode():
            logits = self(one_hot(sequence)[None])[0].T
        return torch.softmax(logits.double(), dim=1).numpy()


@cache
def _default() -> PredictDSSPNet:
    return PredictDSSPNet.load()


def predict_ss3(sequence: str) -> np.ndarray:
    """``(L, 3)`` PredictDSSP probabilities H, E, C for ``sequence``, the network loaded once
    (see :meth:`PredictDSSPNet.predict_ss3`)."""
    return _default().predict_ss3(sequence)
