"""The adapter of reprof's single-sequence cascade (:class:`~foldlens.models.reprof.Reprof`).

Input: the one-hot sequence, ``(1, 20, L)``. One head, ``ss3``: the jury's probabilities H, E, C
(already normalised, so the transform is ``probability``). The networks are read from the Debian
package's files at load time (``apt-get install librg-reprof-bundle-perl``); without them the
model is not offered. Its perceptrons use sigmoids, so the engine's audit marks the rule-based
methods (deconvnet, guided backpropagation) approximate here; the gradient family is exact.
"""

from __future__ import annotations

from torch import nn

from ...protein.labels import SS3
from ..adapter import ModelAdapter
from ..reprof import JURY, MODEL_DIR, STAGE1, Reprof
from ..spec import HeadSpec
from .one_hot_input import ONE_HOT_GROUPS, OneHotInput


class ReprofAdapter(OneHotInput, ModelAdapter):
    name = "reprof"
    description = (
        "reprof (Rost lab), single-sequence mode: two stages of sigmoid perceptrons on windows "
        "of the one-hot sequence (19 and 13 residues) and the chain's composition and length, "
        "averaged by a jury of four. Ported from the Debian package's networks."
    )
    groups = ONE_HOT_GROUPS
    heads = [  # noqa: RUF012 (read only)
        HeadSpec("ss3", "per-residue", "B×3×L", "3-state secondary structure", "probability",
                 classes=list(SS3)),
    ]  # fmt: skip

    def build(self) -> nn.Module:
        return Reprof.load()

    def load(self) -> nn.Module:
        return Reprof.load()

    def weights(self) -> bytes:
        files = [
            MODEL_DIR / f"{name}.{kind}"
            for name in (*STAGE1, *JURY)
            for kind in ("model", "features")
        ]
        missing = [path for path in files if not path.is_file()]
        if missing:
            raise FileNotFoundError(
                f"reprof's network file {missing[0]} is missing: install the Debian package "
                "librg-reprof-bundle-perl (apt-get install librg-reprof-bundle-perl)"
            )
        return b"".join(path.read_bytes() for path in files)
