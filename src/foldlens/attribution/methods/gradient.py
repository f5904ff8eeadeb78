"""The gradient family: vanilla gradient, deconvnet, guided backpropagation, input × gradient.

For a target ``y`` and slot ``z``, each of the first three computes ``∂y/∂z`` by backpropagation,
differing only in how the signal ``R`` passes a ReLU ``max(f, 0)`` (see
:mod:`foldlens.attribution.rules`):

- ``gradient``: ``[f > 0] · R`` (Simonyan et al. 2014; ``abs=True`` gives ``|∂y/∂z|``),
- ``deconvnet``: ``[R > 0] · R`` (Zeiler & Fergus 2014),
- ``guided_backprop``: ``[f > 0] · [R > 0] · R`` (Springenberg et al. 2014).

``input_x_gradient`` is ``z ⊙ ∂y/∂z`` (Shrikumar et al. 2016).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..forward import Forward
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, check_bool, gradients_at


class SharedForward(Method):
    """A method that needs one forward pass and one backward rule, so that several of them can
    share the forward pass (:func:`foldlens.attribution.attribute_each`)."""

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        return self.maps_at(session, session.forward(measure=len(targets) > 1), targets)

    def maps_at(self, session: AttributionSession, fwd: Forward, targets: list[Target]) -> Maps:
        """The maps at the forward pass ``fwd``, under the session's current rule."""
        maps, session.packing = gradients_at(session, fwd, targets)
        return maps


class RuleGradient(SharedForward):
    """Backpropagation with one ReLU rule, named by the subclass."""

    def rule(self, options: dict[str, Any]) -> str:
        return self.name


class Gradient(RuleGradient):
    name = "gradient"
    summary = "vanilla gradient ∂y/∂z (Simonyan et al. 2014)"
    options: ClassVar[dict[str, Option]] = {
        "abs": Option(
            False, "return |∂y/∂z| (the saliency map of Simonyan et al., Captum's default)"
        )
    }

    def check(self, options: dict[str, Any]) -> None:
        check_bool(options, "abs")

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        maps = super().attribute(session, targets, options)
        return tuple(m.abs() for m in maps) if options["abs"] else maps


class Deconvnet(RuleGradient):
    name = "deconvnet"
    summary = "backprop passing only positive signals through ReLUs (Zeiler & Fergus 2014)"


class GuidedBackprop(RuleGradient):
    name = "guided_backprop"
    summary = (
        "backprop through active ReLUs passing only positive signals (Springenberg et al. 2014)"
    )


class InputXGradient(SharedForward):
    name = "input_x_gradient"
    summary = "input times gradient, z ⊙ ∂y/∂z (Shrikumar et al. 2016)"

    def maps_at(self, session: AttributionSession, fwd: Forward, targets: list[Target]) -> Maps:
        maps, session.packing = gradients_at(session, fwd, targets)
        return tuple(m * z.detach() for m, z in zip(maps, fwd.z, strict=True))
