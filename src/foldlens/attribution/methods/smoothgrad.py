"""SmoothGrad (Smilkov et al. 2017) on top of a gradient-family method.

``SG(z) = 1/n Σ_k A(z + ε_k)``, ``ε_k ~ N(0, σ²)``, ``σ = noise · (max z - min z)``, where
``A`` is the base method (``gradient``, ``deconvnet``, ``guided_backprop`` or
``input_x_gradient``; the latter multiplies each gradient by its own noisy input). Noise comes
from a seeded generator, so results repeat. The noisy copies run stacked along the batch
dimension (use ``model.eval()``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..forward import seeds
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, check_positive_int, stacked_passes, weighted_sum_over_copies

BASES = ("gradient", "deconvnet", "guided_backprop", "input_x_gradient")


class SmoothGrad(Method):
    name = "smoothgrad"
    summary = (
        "average of a gradient-family map over noisy copies of the input (Smilkov et al. 2017)"
    )
    options: ClassVar[dict[str, Option]] = {
        "base": Option("gradient", f"the method averaged, one of {BASES}"),
        "noise": Option(0.15, "noise standard deviation as a fraction of the input's value range"),
        "samples": Option(25, "number of noisy copies"),
        "seed": Option(0, "seed of the noise generator"),
        "batch_size": Option(
            None, "noisy copies per forward pass (default: fit the memory budget)"
        ),
    }

    def check(self, options: dict[str, Any]) -> None:
        if options["base"] not in BASES:
            raise ValueError(f"smoothgrad base must be one of {BASES}, got {options['base']!r}")
        noise = options["noise"]
        if (
            not isinstance(noise, int | float)
            or isinstance(noise, bool)
            or not 0 <= noise < float("inf")
        ):
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
        super().check(options)
        check_positive_int(options, "samples")
        if not isinstance(options["seed"], int) or isinstance(options["seed"], bool):
            raise ValueError(f"seed must be an int, got {options['seed']!r}")

    def rule(self, options: dict[str, Any]) -> str:
        return "gradient" if options["base"] == "input_x_gradient" else str(options["base"])

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        z = session.slot_value()
        samples = options["samples"]
        generator = torch.Generator().manual_seed(options["seed"])
        sigmas = [options["noise"] * float(zi.max() - zi.min()) for zi in z]
        noisy = [
            torch.stack(
                [
                    zi
                    + sigma
                    * torch.randn(zi.shape, generator=generator, dtype=zi.dtype).to(zi.device)
                    for _ in range(samples)
                ]
            )
            for zi, sigma in zip(z, sigmas, strict=True)
        ]
        weights = torch.full((samples,), 1.0 / samples, dtype=torch.float64)
        times_input = options["base"] == "input_x_gradient"
        total = [
            torch.zeros((len(targets), *zi.shape), dtype=zi.dtype, device=zi.device) for zi in z
        ]
        for chunk in stacked_passes(session, samples, options["batch_size"]):
            stacked = tuple(n[chunk.start : chunk.stop].flatten(0, 1) for n in noisy)
            fwd = session.forward(stacked, copies=len(chunk))
            grads = session.gradients(fwd, seeds(fwd, targets))
            for acc, g, zs in zip(total, grads, stacked, strict=True):
                g = g * zs if times_input else g
                acc += weighted_sum_over_copies(g, len(chunk), weights[list(chunk)])
        return tuple(total)
