"""SmoothGrad (Smilkov et al. 2017) and its variants, on top of another method.

With ``A`` the base method and ``ε_k ~ N(0, σ²)``, ``k = 1 … n``:

- ``kind="mean"``: ``SG(z) = 1/n Σ_k A(z + ε_k)`` (SmoothGrad),
- ``kind="squared"``: ``1/n Σ_k A(z + ε_k)²`` (SmoothGrad², Hooker et al. 2019),
- ``kind="variance"``: ``1/n Σ_k A(z + ε_k)² - SG(z)²`` (VarGrad, Adebayo et al. 2018).

``σ`` is ``stdev`` when given (a number, or a tuple per input), else ``noise · (max z - min z)``.
The base is ``gradient``, ``deconvnet``, ``guided_backprop``, ``input_x_gradient`` (each gradient
times its own noisy input) or ``integrated_gradients`` (from the fixed baseline to each noisy
input); ``base_options`` are the base's own options. Noise comes from a seeded generator, so
results repeat. The noisy copies of a gradient-family base run stacked along the batch dimension
where the model keeps stacked copies apart, otherwise one per pass.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from ..forward import seeds
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, broadcast_baseline, check_positive_int, stacked_passes
from .gradient import Deconvnet, Gradient, GuidedBackprop, InputXGradient
from .integrated_gradients import IntegratedGradients, integrated

BASES: dict[str, Method] = {
    method.name: method
    for method in (
        Gradient(),
        Deconvnet(),
        GuidedBackprop(),
        InputXGradient(),
        IntegratedGradients(),
    )
}
KINDS = ("mean", "squared", "variance")


class SmoothGrad(Method):
    name = "smoothgrad"
    summary = "average of another method's map over noisy copies of the input (Smilkov et al. 2017)"
    options: ClassVar[dict[str, Option]] = {
        "base": Option("gradient", f"the method averaged, one of {list(BASES)}"),
        "base_options": Option({}, "the base method's own options"),
        "kind": Option(
            "mean", f"what is averaged: one of {KINDS} (SmoothGrad, SmoothGrad², VarGrad)"
        ),
        "noise": Option(0.15, "noise standard deviation as a fraction of the input's value range"),
        "stdev": Option(
            None,
            "absolute noise standard deviation (a number or a tuple per input); overrides noise",
        ),
        "samples": Option(25, "number of noisy copies"),
        "seed": Option(0, "seed of the noise generator"),
        "batch_size": Option(
            None, "noisy copies per forward pass (default: fit the memory budget)"
        ),
    }

    def check(self, options: dict[str, Any]) -> None:
        if not isinstance(options["base"], str) or options["base"] not in BASES:
            raise ValueError(
                f"smoothgrad base must be one of {list(BASES)}, got {options['base']!r}"
            )
        if not isinstance(options["base_options"], dict):
            raise ValueError(f"base_options must be a dict, got {options['base_options']!r}")
        options["base_options"] = BASES[options["base"]].resolve(options["base_options"])
        if options["kind"] not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {options['kind']!r}")
        _check_deviation(options["noise"], "noise")
        stdev = options["stdev"]
        for value in stdev if isinstance(stdev, tuple) else () if stdev is None else (stdev,):
            _check_deviation(value, "stdev")
        super().check(options)
        check_positive_int(options, "samples")
        if not isinstance(options["seed"], int) or isinstance(options["seed"], bool):
            raise ValueError(f"seed must be an int, got {options['seed']!r}")

    def rule(self, options: dict[str, Any]) -> str:
        return BASES[options["base"]].rule(options["base_options"])

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        z = session.slot_value()
        samples = options["samples"]
        generator = torch.Generator().manual_seed(options["seed"])
        noisy = [
            torch.stack(
                [
                    zi
                    + sigma
                    * torch.randn(zi.shape, generator=generator, dtype=zi.dtype).to(zi.device)
                    for _ in range(samples)
                ]
            )
            for zi, sigma in zip(z, _deviations(options, z), strict=True)
        ]
        statistics = [_Moments() for _ in z]
        for sample_maps in _per_sample_maps(session, targets, options, z, noisy):
            for moments, m in zip(statistics, sample_maps, strict=True):
                moments.add(m)
        if options["kind"] == "mean":
            return tuple(m.mean for m in statistics)
        if options["kind"] == "squared":
            return tuple(m.variance + m.mean * m.mean for m in statistics)
        return tuple(m.variance for m in statistics)


class _Moments:
    """Running mean and variance over samples along dimension 1, merged chunk by chunk
    (Chan et al. 1979): no cancellation of large squares, so VarGrad stays accurate."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = self.squares = torch.zeros(())  # squares: Σ (x - mean)²

    def add(self, chunk: torch.Tensor) -> None:
        k = chunk.shape[1]
        chunk_mean = chunk.mean(dim=1)
        chunk_squares = ((chunk - chunk_mean[:, None]) ** 2).sum(dim=1)
        if not self.count:
            self.count, self.mean, self.squares = k, chunk_mean, chunk_squares
            return
        n = self.count + k
        delta = chunk_mean - self.mean
        self.mean = self.mean + delta * (k / n)
        self.squares = self.squares + chunk_squares + delta * delta * (self.count * k / n)
        self.count = n

    @property
    def variance(self) -> torch.Tensor:
        return self.squares / self.count


def _per_sample_maps(
    session: AttributionSession,
    targets: list[Target],
    options: dict[str, Any],
    z: tuple[torch.Tensor, ...],
    noisy: list[torch.Tensor],
) -> Any:
    """Yield the base's maps for chunks of noisy copies, each of shape ``(T, copies, *z.shape)``."""
    base, base_options = options["base"], options["base_options"]
    if base == IntegratedGradients.name:
        z0 = broadcast_baseline(base_options["baseline"], z)
        for k in range(options["samples"]):
            point = tuple(n[k] for n in noisy)
            yield tuple(m[:, None] for m in integrated(session, targets, point, z0, base_options))
        return
    for chunk in stacked_passes(session, options["samples"], options["batch_size"]):
        stacked = tuple(n[chunk.start : chunk.stop].flatten(0, 1) for n in noisy)
        fwd = session.forward(stacked, copies=len(chunk))
        grads = session.gradients(fwd, seeds(fwd, targets))
        maps = []
        for g, zs, zi in zip(grads, stacked, z, strict=True):
            g = g * zs if base == InputXGradient.name else g
            g = g.abs() if base_options.get("abs") else g
            maps.append(g.reshape(len(targets), len(chunk), *zi.shape))
        yield tuple(maps)


def _deviations(options: dict[str, Any], z: tuple[torch.Tensor, ...]) -> list[float]:
    stdev = options["stdev"]
    if stdev is None:
        return [options["noise"] * float(zi.max() - zi.min()) for zi in z]
    given = stdev if isinstance(stdev, tuple) else (stdev,) * len(z)
    if len(given) != len(z):
        raise ValueError(f"stdev has {len(given)} entries for {len(z)} inputs")
    return [float(s) for s in given]


def _check_deviation(value: Any, name: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
