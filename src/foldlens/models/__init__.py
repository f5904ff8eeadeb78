"""Network definitions, the model registry and their specs."""

from .registry import available, load, spec, version
from .spec import HeadSpec, InputSpec, LayerSpec, ModelSpec

__all__ = [
    "HeadSpec",
    "InputSpec",
    "LayerSpec",
    "ModelSpec",
    "available",
    "load",
    "spec",
    "version",
]
