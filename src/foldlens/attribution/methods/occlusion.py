"""Occlusion (Zeiler & Fergus 2014): the output's drop when a window of the input is replaced.

For each placement ``W`` of a window (size ``window``, step ``stride``) the slot's values in ``W``
are set to ``baseline`` and ``Δ_W = y(z) - y(z with W occluded)``. Each element's attribution is the
mean ``Δ_W`` over the windows that cover it. ``window`` and ``stride`` give the sizes along the
trailing dimensions; leading non-batch dimensions are covered whole, and each sample of a batch is
occluded on its own. For a protein input of shape ``(batch, features, length)``, ``window=5`` hides
all features of 5 consecutive residues of one sample. Windows start at multiples of the stride, and
where they do not reach the end of a dimension a last full window is added flush with the end, so
every element is covered by windows of one size. (Captum instead crops the windows that overhang the
end: on ``[20, 50, 30]`` with window 2 and stride 2 it hides ``[0:2]`` and ``[2:3]``, foldlens
``[0:2]`` and ``[1:3]``.)

Needs only forward passes, and no rule: exact for any model, integer inputs (token ids) included.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from ..forward import values
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, broadcast_baseline, stacked_passes

Placement = tuple[Any, ...]
"""An index into the slot selecting the elements replaced together (batch row first)."""


def _sizes(value: Any, name: str, dims: int) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, int) else value
    if (
        not isinstance(sizes, tuple)
        or not 1 <= len(sizes) <= dims
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    ):
        raise ValueError(
            f"{name} must be a positive int or a tuple of at most {dims} positive ints, "
            f"got {value!r}"
        )
    return sizes


def _starts(size: int, window: int, stride: int) -> list[int]:
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] + window < size:
        starts.append(size - window)
    return starts


class Occlusion(Method):
    name = "occlusion"
    summary = (
        "mean output drop when a window of the input is set to a baseline (Zeiler & Fergus 2014)"
    )
    needs_gradients = False
    options: ClassVar[dict[str, Option]] = {
        "window": Option(1, "window size along the trailing dimensions (int or tuple)"),
        "stride": Option(1, "window step along the same dimensions (int or tuple)"),
        "baseline": Option(
            0.0, "value written into the window: a number or a tensor like the input"
        ),
        "batch_size": Option(
            None, "occluded copies per forward pass (default: fit the memory budget)"
        ),
    }

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        zi, fill = one_slot(session, options["baseline"], self.name)
        dims = zi.dim() - 1
        if dims < 1:
            raise ValueError("occlusion needs an input with at least one dimension after the batch")
        window = _sizes(options["window"], "window", dims)
        stride = _sizes(options["stride"], "stride", dims)
        if isinstance(options["stride"], int):
            stride = stride * len(window)  # one step along every windowed dimension
        if len(stride) != len(window):
            raise ValueError(f"stride {stride} must have as many entries as window {window}")
        trailing = zi.shape[zi.dim() - len(window) :]
        if any(w > s for w, s in zip(window, trailing, strict=True)):
            raise ValueError(
                f"window {window} is larger than the input's trailing shape {tuple(trailing)}"
            )
        # Each batch row is occluded on its own: a window never hides two samples at once.
        lead = (slice(None),) * (zi.dim() - 1 - len(window))
        placements: list[Placement] = [
            (row, *lead, *windows)
            for row in range(zi.shape[0])
            for windows in itertools.product(
                *[
                    [slice(s, s + w) for s in _starts(n, w, st)]
                    for n, w, st in zip(trailing, window, stride, strict=True)
                ]
            )
        ]
        return (replacement_drops(session, targets, zi, fill, placements, options["batch_size"]),)


def one_slot(
    session: AttributionSession, baseline: Any, method: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The single slot tensor a perturbation method replaces parts of, and its baseline."""
    z = session.slot_value()
    if len(z) != 1:
        raise ValueError(f"{method} attributes one input tensor; pass wrt= to pick a layer's input")
    if not (z[0].is_floating_point() or z[0].is_complex()) and not _integral(baseline):
        raise ValueError(f"the input holds integers ({z[0].dtype}); the baseline must too")
    (fill,) = broadcast_baseline(baseline, z)
    return z[0], fill


def _integral(baseline: Any) -> bool:
    values = baseline if isinstance(baseline, tuple) else (baseline,)
    return all(
        torch.equal(v, v.round())
        if isinstance(v, torch.Tensor) and v.is_floating_point()
        else not isinstance(v, float) or v.is_integer()
        for v in values
    )


def replacement_drops(
    session: AttributionSession,
    targets: list[Target],
    zi: torch.Tensor,
    fill: torch.Tensor,
    placements: Sequence[Placement],
    batch_size: int | None,
) -> torch.Tensor:
    """``Σ_W Δ_W / #W`` per element over the placements ``W`` covering it, where
    ``Δ_W = y(z) - y(z with W set to fill)``; shape ``(targets, *zi.shape)``."""
    session.forward((zi,))  # measures the bytes of one copy for the memory budget
    dtype = zi.dtype if zi.is_floating_point() else torch.get_default_dtype()
    total = torch.zeros((len(targets), *zi.shape), dtype=dtype, device=zi.device)
    count = torch.zeros(zi.shape, dtype=dtype, device=zi.device)
    # The unoccluded input rides in every stacked pass, so that both sides of each difference
    # come from the same kernels and untouched outputs cancel exactly; a model whose stacked
    # copies would mix gets it in a pass of its own, like each occluded copy.
    stacked = session.copies_independent()
    alone = None if stacked else values(session.evaluate((zi,)), targets)
    for chunk in stacked_passes(session, len(placements), batch_size):
        copies = [zi] if stacked else []
        for k in chunk:
            occluded = zi.clone()
            occluded[placements[k]] = fill[placements[k]]
            copies.append(occluded)
        found = values(session.evaluate((torch.cat(copies),), copies=len(copies)), targets)
        if alone is not None:
            found = torch.cat([alone, found], dim=1)
        drops = found[:, :1] - found[:, 1:]  # (targets, placements in the chunk)
        for j, k in enumerate(chunk):
            # Assigned, not added in place: a boolean placement selects a copy, not a view.
            index = (slice(None), *placements[k])
            region = total[index]
            total[index] = region + drops[:, j].view(-1, *[1] * (region.dim() - 1)).to(dtype)
            count[placements[k]] += 1
    return total / count.clamp(min=1)
