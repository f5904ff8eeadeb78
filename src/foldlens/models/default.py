"""The default structure network: a 1D ReLU trunk, per-residue heads, a 2D ReLU trunk, pair heads.

Input ``x``: ``(B, 41, L)`` per-residue features (:mod:`foldlens.models.residue_input`). Output:
a dict of logits, channels first:

==============  ==================  =================================================
key             shape               meaning
==============  ==================  =================================================
``ss8``         ``(B, 8, L)``       DSSP 8-state logits, order HGIEBTSC
``ss3``         ``(B, 3, L)``       3-state logits, order HEC
``rsa``         ``(B, 1, L)``       relative accessibility logit (sigmoid → 0–1)
``dist_ca_ca``  ``(B, 37, L, L)``   Cα_i–Cα_j distogram logits (bins: protein.labels)
``dist_ca_cb``  ``(B, 37, L, L)``   Cα_i–Cβ_j
``dist_cb_ca``  ``(B, 37, L, L)``   Cβ_i–Cα_j
``dist_cb_cb``  ``(B, 37, L, L)``   Cβ_i–Cβ_j
``contact``     ``(B, 1, L, L)``    logit of Cβ_i–Cβ_j < 8 Å
==============  ==================  =================================================

Architecture (ReLU is the only non-linearity, so every attribution rule is exact):

- ``embed``: 1×1 Conv1d 41 → 128;
- ``trunk1d``: 8 pre-activation residual blocks ``h + conv(relu(conv(relu(h))))``, kernel 5,
  dilations 1, 2, 4, 8, 1, 2, 4, 8 (the cycle repeats in a deeper trunk, see ``blocks1d``);
- per-residue heads: 1×1 Conv1d on ``relu(h)``;
- ``pair``: ``left(h)_i + right(h)_j + relpos(clip(j − i, ±32))``, 64 channels;
- ``trunk2d``: 8 residual blocks, 3×3 Conv2d, dilations 1, 2, 4, 8, 1, 2, 4, 8 (``blocks2d``);
- pair heads: 1×1 Conv2d on ``relu(g)``. For a full map, the logits of the symmetric maps are
  averaged with their transposes (Cα–Cβ with the transpose of Cβ–Cα), a linear step.

Training passes ``rows``/``cols`` (pair crop indices) and a padding ``mask``; inference passes
only ``x``.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..protein.labels import DISTANCE_BINS, DISTANCE_MAPS
from .residue_input import FEATURES

RELATIVE_POSITIONS = 32
DILATION_CYCLE = (1, 2, 4, 8)


class PairConv2d(nn.Conv2d):
    """A 2D convolution with 'same' zero padding that can also run *valid* (``valid=True``: no
    padding). A valid output lacks the ``dilation · (kernel // 2)`` cells on each side that read
    the padding and equals the padded output's interior, without computing the border or
    slicing it off (whose backward pass would write a zero-filled copy of the gradient)."""

    def forward(self, x: torch.Tensor, valid: bool = False) -> torch.Tensor:
        if not valid:
            return super().forward(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ResidualBlock(nn.Module):
    """``h + conv2(relu(conv1(relu(h))))`` with 'same' padding, 1D or 2D.

    With a padding ``mask`` (training on padded batches), padded positions are zeroed after each
    convolution, as zero padding would be at a chain's ends.
    """

    def __init__(self, dims: int, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        conv = nn.Conv1d if dims == 1 else PairConv2d
        padding = dilation * (kernel // 2)
        self.conv1 = conv(channels, channels, kernel, padding=padding, dilation=dilation)
        self.conv2 = conv(channels, channels, kernel, padding=padding, dilation=dilation)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        r = self.conv1(F.relu(h))
        if mask is not None:
            r = r * mask
        out: torch.Tensor = h + self.conv2(F.relu(r))
        return out if mask is None else out * mask


def _dilation(block: int) -> int:
    return DILATION_CYCLE[block % len(DILATION_CYCLE)]


def _reach(block: nn.Module) -> int:
    """Positions a block adds to the receptive radius: ``Σ dilation · (kernel // 2)`` over convs."""
    reach = 0
    for conv in block.modules():
        if isinstance(conv, nn.Conv1d | nn.Conv2d):
            reach += conv.dilation[0] * (conv.kernel_size[0] // 2)
    return reach


def _shrink(t: torch.Tensor, *convs: nn.Module) -> torch.Tensor:
    """Drop the border of a 2D window that ``convs`` (run valid, one after the other) do not
    compute. A negative padding, not a slice: its gradient keeps the tensor's memory format
    (a slice's is a zero-filled contiguous copy, whose sum with a channels-last gradient is
    20× slower than a matching one)."""
    d = sum(_reach(conv) for conv in convs)
    return F.pad(t, [-d] * 4)


class DefaultNet(nn.Module):
    def __init__(
        self, channels: int = 128, pair_channels: int = 64, blocks1d: int = 8, blocks2d: int = 8
    ) -> None:
        super().__init__()
        self.embed = nn.Conv1d(FEATURES, channels, 1)
        self.trunk1d = nn.ModuleList(
            [ResidualBlock(1, channels, 5, _dilation(k)) for k in range(blocks1d)]
        )
        self.ss8 = nn.Conv1d(channels, 8, 1)
        self.ss3 = nn.Conv1d(channels, 3, 1)
        self.rsa = nn.Conv1d(channels, 1, 1)
        self.left = nn.Conv1d(channels, pair_channels, 1)
        self.right = nn.Conv1d(channels, pair_channels, 1)
        self.relpos = nn.Embedding(2 * RELATIVE_POSITIONS + 1, pair_channels)
        self.trunk2d = nn.ModuleList(
            [ResidualBlock(2, pair_channels, 3, _dilation(k)) for k in range(blocks2d)]
        )
        self.distogram = nn.Conv2d(pair_channels, len(DISTANCE_MAPS) * DISTANCE_BINS, 1)
        self.contact = nn.Conv2d(pair_channels, 1, 1)

    @classmethod
    def shaped_like(cls, state: dict[str, torch.Tensor]) -> DefaultNet:
        """A network (fresh weights) of the shape of the state dict ``state``."""

        def blocks(trunk: str) -> int:
            return sum(1 for key in state if key.startswith(trunk) and key.endswith("conv1.weight"))

        return cls(
            channels=state["embed.weight"].shape[0],
            pair_channels=state["left.weight"].shape[0],
            blocks1d=blocks("trunk1d."),
            blocks2d=blocks("trunk2d."),
        )

    def deepened(self, blocks1d: int, blocks2d: int) -> DefaultNet:
        """This network with ``blocks1d`` and ``blocks2d`` residual blocks (at least as many as it
        has), computing the same function: the new blocks go at the end of each trunk, their
        first convolution freshly initialised and their second one zero (weight and bias), so a
        new block maps h to h + 0 until training moves it."""
        if blocks1d < len(self.trunk1d) or blocks2d < len(self.trunk2d):
            raise ValueError(
                f"cannot deepen {len(self.trunk1d)}/{len(self.trunk2d)} blocks to "
                f"{blocks1d}/{blocks2d}: a deeper network keeps every block it had"
            )
        grown = DefaultNet(self.embed.out_channels, self.left.out_channels, blocks1d, blocks2d)
        grown.load_state_dict(self.state_dict(), strict=False)  # the new blocks are not in it
        with torch.no_grad():
            for trunk, old in ((grown.trunk1d, self.trunk1d), (grown.trunk2d, self.trunk2d)):
                for block in cast("list[ResidualBlock]", list(trunk)[len(old) :]):
                    block.conv2.weight.zero_()
                    assert block.conv2.bias is not None
                    block.conv2.bias.zero_()
        return grown.to(self.embed.weight.device)

    def residue_radius(self) -> int:
        """How far (in residues) a per-residue output reaches into the sequence."""
        return sum(_reach(block) for block in self.trunk1d)

    def pair_radius(self) -> int:
        """How far a pair output (i, j) reaches from i or from j."""
        return self.residue_radius() + sum(_reach(block) for block in self.trunk2d)

    def trunk2d_radius(self) -> int:
        """How far (in pair cells, along rows or columns) the 2D trunk reaches."""
        return sum(_reach(block) for block in self.trunk2d)

    def pair_cell(self, x: torch.Tensor, i: int, j: int) -> dict[str, torch.Tensor]:
        """The pair heads' logits at cell (i, j) of the full map, ``(B, C)`` each, exactly as
        :meth:`forward` gives them (symmetrized), computing only what the cell depends on.

        Symmetrization reads cells (i, j) and (j, i); each depends on the 2D trunk's input within
        R = :meth:`trunk2d_radius` of it. When those two squares are disjoint (|i − j| > 2R) the
        trunk runs on both squares, stacked along the batch (sample s's squares at 2s and 2s + 1),
        else on one window holding both, so that the cells they share are shared as in the full
        map (modified backward rules threshold the *summed* gradient at a shared cell, so sharing
        matters for deconvnet and guided backpropagation). Each convolution keeps only the cells
        the next layers still need, and cells outside the chain are zeroed after every
        convolution, as zero padding does on the full map. Every module runs once per call, so
        any layer's input can be attributed (``wrt=``); :meth:`pair_cell_windows` says which
        cells of the map that input holds.

        Speed (the results are the same): the 2D trunk runs in channels-last memory format,
        whose dilated convolutions' backward passes are several times faster on CPU than the
        default format's; the heads run on the trunk's whole output window (at least 2 × 2
        cells, so its format is unambiguous), so that every gradient of the backward pass comes
        back in that one format (summing gradients of two formats is 20× slower).
        """
        h = self.embed(x)
        for block in self.trunk1d:
            h = block(h)
        a = F.relu(h)
        windows = self.pair_cell_windows(i, j)
        rows = torch.stack([torch.as_tensor(r, device=x.device) for r, _ in windows])
        cols = torch.stack([torch.as_tensor(c, device=x.device) for _, c in windows])
        b = self._trunk2d_window(a, rows, cols)
        distogram, contact = self.distogram(b), self.contact(b)
        if len(windows) == 2:  # (B, 2, C): here, there per sample
            maps, contacts = distogram[..., 0, 0], contact[..., 0, 0]
        else:
            low = min(i, j)
            maps = torch.stack(
                [distogram[..., i - low, j - low], distogram[..., j - low, i - low]], dim=1
            )
            contacts = torch.stack(
                [contact[..., i - low, j - low], contact[..., j - low, i - low]], dim=1
            )
        maps = maps.reshape(-1, 2, len(DISTANCE_MAPS), DISTANCE_BINS)
        contacts = contacts.reshape(-1, 2, 1)
        partner = (0, 2, 1, 3)  # the map whose transpose describes the same atom pairs
        out = {
            name: (maps[:, 0, k] + maps[:, 1, partner[k]]) / 2
            for k, name in enumerate(DISTANCE_MAPS)
        }
        out["contact"] = (contacts[:, 0] + contacts[:, 1]) / 2
        return out

    def pair_cell_windows(self, i: int, j: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The map rows and columns of the 2D trunk's input windows in :meth:`pair_cell`, one
        ``(rows, cols)`` per stacked window (positions outside the chain included). Each reaches
        R = :meth:`trunk2d_radius` beyond the cells it serves, and one more row and column at
        its far end, so that the trunk's output window has at least 2 × 2 cells (beyond the
        cells' reach, they change no value and take no gradient)."""
        radius = self.trunk2d_radius()
        if abs(i - j) > 2 * radius:
            square = np.arange(-radius, radius + 2)
            return [(i + square, j + square), (j + square, i + square)]
        span = np.arange(min(i, j) - radius, max(i, j) + radius + 2)
        return [(span, span)]

    def window_shrink(self, path: str) -> int:
        """Cells :meth:`pair_cell` has dropped from each side of its windows before the 2D layer
        ``path`` (``trunk2d.<block>.conv1|conv2``, or a pair head: the whole reach) runs."""
        if path in ("distogram", "contact"):
            return self.trunk2d_radius()
        shrink = 0
        for name, conv in self.trunk2d.named_modules(prefix="trunk2d"):
            if name == path:
                return shrink
            if isinstance(conv, nn.Conv2d):
                shrink += conv.dilation[0] * (conv.kernel_size[0] // 2)
        raise ValueError(f"{path!r} is not a convolution of the 2D trunk or a pair head")

    def _trunk2d_window(
        self, a: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor
    ) -> torch.Tensor:
        """``relu`` of the 2D trunk's output on windows ``rows[w] × cols[w]`` (``(W, n)`` each;
        positions may fall outside the chain), shrunk by the trunk's reach on every side:
        ``(B·W, C, n − 2R, n − 2R)``, sample s's window w at ``s·W + w``."""
        length = a.shape[-1]
        inside = ((rows >= 0) & (rows < length))[:, :, None] & ((cols >= 0) & (cols < length))[
            :, None, :
        ]
        rows, cols = rows.clamp(0, length - 1), cols.clamp(0, length - 1)
        relative = (cols[:, None, :] - rows[:, :, None]).clamp(
            -RELATIVE_POSITIONS, RELATIVE_POSITIONS
        )
        mask = inside.to(a.dtype)[:, None].repeat(a.shape[0], 1, 1, 1)
        masked = not bool(inside.all())  # a window inside the chain needs no zeroing
        # Built as (B, W, n, n, C) and viewed as (B·W, C, n, n): channels-last memory as it is.
        g = (
            self.left(a).transpose(1, 2)[:, rows].unsqueeze(3)
            + self.right(a).transpose(1, 2)[:, cols].unsqueeze(2)
            + self.relpos(relative + RELATIVE_POSITIONS)
        )
        g = g.flatten(0, 1).permute(0, 3, 1, 2)
        if masked:
            g = g * mask
        for block in cast("list[ResidualBlock]", self.trunk2d):
            r = block.conv1(F.relu(g), valid=True)
            mask = _shrink(mask, block.conv1)
            if masked:
                r = r * mask
            update = block.conv2(F.relu(r), valid=True)
            mask = _shrink(mask, block.conv2)
            g = _shrink(g, block.conv1, block.conv2) + update
            if masked:
                g = g * mask
        return F.relu(g)

    def forward(
        self,
        x: torch.Tensor,
        rows: torch.Tensor | None = None,
        cols: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        pairs: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Logits for ``x`` (B, 41, L); ``rows``/``cols`` (B, P) crop the pair map in training;
        ``pairs=False`` returns the per-residue heads only."""
        mask1d = None if mask is None else mask[:, None].to(x.dtype)
        h = self.embed(x)
        for block in self.trunk1d:
            h = block(h, mask1d)
        a = F.relu(h)
        out = {"ss8": self.ss8(a), "ss3": self.ss3(a), "rsa": self.rsa(a)}
        if not pairs:
            return out
        full = rows is None
        if rows is None or cols is None:
            positions = torch.arange(x.shape[-1], device=x.device).expand(x.shape[0], -1)
            rows = cols = positions
        left = torch.gather(self.left(a), 2, rows[:, None].expand(-1, self.left.out_channels, -1))
        right = torch.gather(
            self.right(a), 2, cols[:, None].expand(-1, self.right.out_channels, -1)
        )
        offsets = (cols[:, None, :] - rows[:, :, None]).clamp(
            -RELATIVE_POSITIONS, RELATIVE_POSITIONS
        )
        g = (
            left[:, :, :, None]
            + right[:, :, None, :]
            + self.relpos(offsets + RELATIVE_POSITIONS).permute(0, 3, 1, 2)
        )
        mask2d = None
        if mask is not None:
            valid_rows = torch.gather(mask, 1, rows).to(x.dtype)
            valid_cols = torch.gather(mask, 1, cols).to(x.dtype)
            mask2d = (valid_rows[:, :, None] * valid_cols[:, None, :])[:, None]
            g = g * mask2d
        for block in self.trunk2d:
            g = block(g, mask2d)
        b = F.relu(g)
        maps = self.distogram(b).unflatten(1, (len(DISTANCE_MAPS), DISTANCE_BINS))
        contact = self.contact(b)
        if full:
            t = maps.transpose(-1, -2)
            partner = (0, 2, 1, 3)  # the map whose transpose describes the same atom pairs
            maps = torch.stack([(maps[:, k] + t[:, partner[k]]) / 2 for k in range(4)], dim=1)
            contact = (contact + contact.transpose(-1, -2)) / 2
        out.update({name: maps[:, k] for k, name in enumerate(DISTANCE_MAPS)})
        out["contact"] = contact
        return out
