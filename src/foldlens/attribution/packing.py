"""Share one backward pass between targets whose input supports are proven disjoint.

The ReLU rules act element-wise. If the backward signals of targets ``t1, ..., tk`` never meet
at an element that reaches the input, one backward pass seeded with ``e_t1 + ... + e_tk`` computes
``m_t1 + ... + m_tk`` exactly, for every rule, and each map ``m_t`` can be cut out of its own part
of the input. That is the case for targets at distant positions of a network with a finite
receptive field (convolutions): all ``L`` per-residue maps of a sequence then cost about as many
backward passes as the receptive field is wide, not ``L``.

Nothing here is sampled or compared with a tolerance. The forward pass derives, op by op, an
interval of input positions for every output element, along each axis of the input
(:mod:`foldlens.attribution.supports`); a target's gradient is zero outside its interval under
every rule, and targets with disjoint intervals cannot mix anywhere that reaches the input. So:

1. **Intervals.** Each target reads its interval ``[lo_t, hi_t]`` off the tensor it indexes,
   whatever that tensor's layout (channels first or last, flattened, a dict or tuple entry,
   an internal module's output).
2. **Groups.** Along the input axis that needs the fewest passes, targets are dealt into groups of
   pairwise disjoint intervals (greedy by interval start, which needs the fewest groups).
3. **Cut.** Each group runs one backward seed; target ``t``'s map is that result on the positions
   ``lo_t..hi_t`` and zero elsewhere.

Packing applies to index targets (output indices and neurons) of a single input, when the
derivation is sound for the whole forward pass and no custom backward lies between the targets
and the input; otherwise every target gets its own backward seed (batched).
"""

from __future__ import annotations

import heapq

import torch

from .forward import Forward, Seed
from .report import PackingReport
from .session import PACK_FROM, AttributionSession
from .supports import SupportMode, custom_backward


def packed_gradients(
    session: AttributionSession, fwd: Forward, seeds: list[Seed]
) -> tuple[tuple[torch.Tensor, ...], PackingReport] | None:
    """Per-target gradients ``(len(seeds), *z.shape)`` from packed backward passes, or ``None``.

    ``None`` means packing does not apply (too few targets, not index targets, several inputs,
    stacked copies, a derivation that gave up, a target computed without the input) or does not
    pay (no grouping halves the number of passes).
    """
    supports = fwd.supports
    if supports is None or not supports.sound or len(seeds) < PACK_FROM:
        return None
    if len(fwd.z) != 1 or fwd.copies != 1:
        return None
    if any(len(seed.points) != 1 or seed.dense for seed in seeds):
        return None
    points = [seed.points[0] for seed in seeds]
    sources = list({id(tensor): tensor for tensor, _ in points}.values())
    if custom_backward(sources):
        return None
    best: tuple[int, list[list[int]], torch.Tensor] | None = None
    for axis in supports.axes:
        intervals = _intervals(supports, points, axis)
        if intervals is None:
            return None  # a target that does not depend on the input: handled unpacked
        groups = _groups(intervals)
        if best is None or len(groups) < len(best[1]):
            best = (axis, groups, intervals)
    if best is None or 2 * len(best[1]) > len(seeds):
        return None
    axis, groups, intervals = best
    maps = _run_groups(session, fwd, points, sources, groups, intervals, axis)
    widest = int((intervals[:, 1] - intervals[:, 0]).max()) + 1
    return (maps,), PackingReport(len(seeds), len(groups), axis, widest)


def _intervals(
    supports: SupportMode, points: list[tuple[torch.Tensor, tuple[int, ...]]], axis: int
) -> torch.Tensor | None:
    """``(targets, 2)``: each target's first and last input position along ``axis``."""
    rows = []
    for tensor, element in points:
        bounds = supports.interval(tensor, axis)
        if bounds is None:
            return None
        lo, hi = float(bounds[0][element]), float(bounds[1][element])
        if lo > hi:
            return None
        rows.append((lo, hi))
    return torch.tensor(rows, dtype=torch.float64).long()


def _groups(intervals: torch.Tensor) -> list[list[int]]:
    """Targets dealt into groups of pairwise disjoint intervals: by start, each into a group whose
    last interval ended before it starts (the earliest ending such group), else a new group.
    The number of groups is the most intervals that share one position, the fewest possible."""
    groups: list[list[int]] = []
    ends: list[tuple[int, int]] = []  # (last position of the group, group) as a heap
    for i in intervals[:, 0].argsort(stable=True).tolist():
        lo, hi = int(intervals[i, 0]), int(intervals[i, 1])
        if ends and ends[0][0] < lo:
            _, g = heapq.heappop(ends)
            groups[g].append(i)
        else:
            g = len(groups)
            groups.append([i])
        heapq.heappush(ends, (hi, g))
    return groups


def _run_groups(
    session: AttributionSession,
    fwd: Forward,
    points: list[tuple[torch.Tensor, tuple[int, ...]]],
    sources: list[torch.Tensor],
    groups: list[list[int]],
    intervals: torch.Tensor,
    axis: int,
) -> torch.Tensor:
    z = fwd.z[0]
    chunk = session.chunk_size(fwd, [Seed()] * len(groups))
    maps = torch.zeros((len(points), *z.shape), dtype=z.dtype, device=z.device)
    positions = torch.arange(z.shape[axis], device=z.device)
    keep_shape = [1] * z.dim()
    keep_shape[axis] = z.shape[axis]
    for start in range(0, len(groups), chunk):
        part = groups[start : start + chunk]
        grad_outputs = [
            torch.zeros((len(part), *s.shape), dtype=s.dtype, device=s.device) for s in sources
        ]
        slot = {id(s): k for k, s in enumerate(sources)}
        for row, group in enumerate(part):
            for i in group:
                tensor, element = points[i]
                grad_outputs[slot[id(tensor)]][(row, *element)] += 1
        (results,) = session.backward(fwd, sources, grad_outputs)
        for row, group in enumerate(part):
            for i in group:
                lo, hi = int(intervals[i, 0]), int(intervals[i, 1])
                keep = ((positions >= lo) & (positions <= hi)).reshape(keep_shape)
                maps[i] = torch.where(keep, results[row], 0)
    return maps
