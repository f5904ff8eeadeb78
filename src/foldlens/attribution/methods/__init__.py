"""The registry of attribution methods: one name, one summary, one class each."""

from __future__ import annotations

from .base import Method, Option
from .deeplift import DeepLift
from .feature_ablation import FeatureAblation
from .lrp import Lrp
from .occlusion import Occlusion
from .smoothgrad import BASES, SmoothGrad

REGISTRY: dict[str, Method] = {
    method.name: method
    # The methods SmoothGrad can average (the gradient family and integrated gradients) first.
    for method in (*BASES.values(), SmoothGrad(), Occlusion(), FeatureAblation(), DeepLift(), Lrp())
}


def get_method(name: str) -> Method:
    """The method called ``name``; a ``ValueError`` lists the valid names otherwise."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose one of {list(REGISTRY)}")
    return REGISTRY[name]


def methods() -> dict[str, str]:
    """Every method's name with a one-line description."""
    return {name: method.summary for name, method in REGISTRY.items()}


__all__ = ["REGISTRY", "Method", "Option", "get_method", "methods"]
