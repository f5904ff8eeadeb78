"""Share one backward pass between targets whose receptive fields do not overlap.

The ReLU rules act element-wise. If the backward signals of targets ``t1, ..., tk`` never meet
(no element of any layer receives signal from two of them), then one backward pass seeded with
``a1·e_t1 + ... + ak·e_tk`` computes ``a1·m_t1 + ... + ak·m_tk`` exactly, for every rule, and each
map ``m_t`` can be cut out of its own region of the input. That is the case for targets at distant
positions of a network with a finite receptive field (convolutions): all ``L`` per-residue maps of a
sequence then cost about as many backward passes as the receptive field is wide, not ``L``.

How the regions are found, and checked:

1. **Probe.** For a sample of the targets, one batched backward pass under the ``pass`` rule with
   NaN seeds marks every input element each target can reach (NaN survives every product and sum,
   so nothing cancels). Along the input axis that follows the targets' varying output axis this
   gives a window ``[p - r_lo, p + r_hi]`` around target position ``p``.
2. **Groups.** Targets whose windows do not overlap (positions at least ``r_lo + r_hi + 1`` apart)
   share a backward pass.
3. **Verify.** Each group runs twice, with random positive seed weights ``a_t`` and ``b_t``. All
   rules are positively homogeneous, so where only target ``t`` reaches an element the two results
   there are in the ratio ``a_t / b_t``; where two targets mix, the ratio differs. A group whose
   results are not zero outside the windows and in the owner's ratio inside them is recomputed
   target by target (batched), so the result never depends on the probe being right.

Packing applies to index targets on one tensor that differ along one axis, for a single input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .forward import Forward, Seed
from .report import PackingReport
from .session import AttributionSession

MIN_TARGETS = 8
PROBE_SAMPLES = 9
RATIO_RTOL = 1e-4
SCALE_ATOL = 1e-5


@dataclass(frozen=True)
class Windows:
    """A target at position ``p`` reaches ``[p - before, p + after]`` along the input's ``axis``."""

    axis: int
    before: int
    after: int

    @property
    def width(self) -> int:
        return self.before + self.after + 1


def packed_gradients(
    session: AttributionSession, fwd: Forward, seeds: list[Seed]
) -> tuple[tuple[torch.Tensor, ...], PackingReport] | None:
    """Per-target gradients ``(len(seeds), *z.shape)`` from packed backward passes, or ``None``.

    ``None`` means packing does not apply (too few targets, not index targets on one tensor along
    one axis, several inputs, stacked copies) or does not pay (the windows span half the input).
    """
    if len(seeds) < MIN_TARGETS or len(fwd.z) != 1 or fwd.copies != 1:
        return None
    if any(len(seed.points) != 1 or seed.dense for seed in seeds):
        return None
    source = seeds[0].points[0][0]
    if any(seed.points[0][0] is not source for seed in seeds):
        return None
    elements = torch.tensor([seed.points[0][1] for seed in seeds])
    varying = [
        a for a in range(elements.shape[1]) if bool((elements[:, a] != elements[0, a]).any())
    ]
    if len(varying) != 1:
        return None
    positions = elements[:, varying[0]]
    windows = _probe_windows(session, fwd, source, elements, positions, varying[0])
    if windows is None:
        return None
    groups = _groups(positions, windows.width)
    maps, fallback = _run_groups(session, fwd, source, elements, positions, groups, windows)
    report = PackingReport(len(seeds), len(groups), windows.width, fallback)
    return (maps,), report


def _one_hot(source: torch.Tensor, elements: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    seed = torch.zeros(source.shape, dtype=source.dtype)
    seed[tuple(elements.T)] = weights.to(source.dtype)
    return seed


def _probe_windows(
    session: AttributionSession,
    fwd: Forward,
    source: torch.Tensor,
    elements: torch.Tensor,
    positions: torch.Tensor,
    source_axis: int,
) -> Windows | None:
    order = positions.argsort()
    picks = order[
        sorted(set(torch.linspace(0, len(order) - 1, PROBE_SAMPLES).round().long().tolist()))
    ]
    nan = torch.tensor([float("nan")])
    seeds = torch.stack([_one_hot(source, elements[i : i + 1], nan) for i in picks])
    rule = session.switch.rule
    session.switch.rule = "pass"
    try:
        (reach,) = session.backward(fwd, [source], [seeds])
    finally:
        session.switch.rule = rule
    reached = reach.isnan()
    z = fwd.z[0]
    best: Windows | None = None
    for axis in range(z.dim()):
        if z.shape[axis] != source.shape[source_axis]:
            continue
        span = reached.movedim(axis + 1, 1).flatten(2).any(dim=2)  # (samples, axis length)
        before, after, seen = -z.shape[axis], -z.shape[axis], False
        for row, p in zip(span, positions[picks].tolist(), strict=True):
            hits = row.nonzero().flatten()
            if hits.numel() == 0:
                continue
            seen = True
            before = max(before, p - int(hits.min()))
            after = max(after, int(hits.max()) - p)
        windows = Windows(axis, before, after)
        if (
            seen
            and windows.width <= z.shape[axis] // 2
            and (best is None or windows.width < best.width)
        ):
            best = windows
    return best


def _groups(positions: torch.Tensor, spacing: int) -> list[list[int]]:
    """Greedy first-fit of targets (by position) into groups spaced at least ``spacing`` apart."""
    groups: list[list[int]] = []
    last: list[int] = []
    for i in positions.argsort().tolist():
        p = int(positions[i])
        for g, end in enumerate(last):
            if p - end >= spacing:
                groups[g].append(i)
                last[g] = p
                break
        else:
            groups.append([i])
            last.append(p)
    return groups


def _run_groups(
    session: AttributionSession,
    fwd: Forward,
    source: torch.Tensor,
    elements: torch.Tensor,
    positions: torch.Tensor,
    groups: list[list[int]],
    windows: Windows,
) -> tuple[torch.Tensor, int]:
    generator = torch.Generator().manual_seed(0)
    a = 1 + torch.rand(len(positions), generator=generator, dtype=torch.float64)
    b = 1 + torch.rand(len(positions), generator=generator, dtype=torch.float64)
    seeds = torch.stack([_one_hot(source, elements[g], w[g]) for g in groups for w in (a, b)])
    chunk = max(2, session.chunk_size(fwd, [Seed()] * len(seeds)) // 2 * 2)
    results = torch.cat(
        [
            session.backward(fwd, [source], [seeds[i : i + chunk]])[0]
            for i in range(0, len(seeds), chunk)
        ]
    )
    z = fwd.z[0]
    length = z.shape[windows.axis]
    maps = torch.zeros((len(positions), *z.shape), dtype=z.dtype)
    fallback: list[int] = []
    fallback_groups = 0
    for k, group in enumerate(groups):
        along = results[2 * k : 2 * k + 2].movedim(windows.axis + 1, 1)  # (2, length, ...)
        owner = torch.full((length,), -1, dtype=torch.long)
        for slot, i in enumerate(group):
            p = int(positions[i])
            owner[max(p - windows.before, 0) : max(p + windows.after + 1, 0)] = slot
        if not _verified(along, owner, a[group], b[group]):
            fallback.extend(group)
            fallback_groups += 1
            continue
        for slot, i in enumerate(group):
            piece = along[0] * (owner == slot).view(-1, *[1] * (along.dim() - 2)) / a[i].item()
            maps[i] = piece.movedim(0, windows.axis)
    if fallback:
        seeds_left = [Seed(points=[(source, tuple(elements[i].tolist()))]) for i in fallback]
        (redone,) = session.gradients(fwd, seeds_left)
        maps[fallback] = redone
    return maps, fallback_groups


def _verified(along: torch.Tensor, owner: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Zero outside the windows; inside, ``A / a_t`` and ``B / b_t`` agree for the owner ``t``.

    Agreement is to ``RATIO_RTOL`` of the value plus ``SCALE_ATOL`` of the owner's largest value:
    float sums with cancellation are only that exact.
    """
    first, second = along[0].flatten(1), along[1].flatten(1)  # (length, rest)
    outside = owner < 0
    if first[outside].any() or second[outside].any():
        return False
    inside = ~outside
    x = first[inside] / a[owner[inside]].to(first.dtype)[:, None]
    y = second[inside] / b[owner[inside]].to(first.dtype)[:, None]
    if x.numel() == 0:
        return True
    magnitude = torch.maximum(x.abs(), y.abs())
    per_target = torch.zeros(len(a), dtype=x.dtype).scatter_reduce_(
        0, owner[inside], magnitude.amax(dim=1), "amax", include_self=True
    )
    scale = per_target[owner[inside]][:, None]
    return bool(((x - y).abs() <= RATIO_RTOL * magnitude + SCALE_ATOL * scale).all())
