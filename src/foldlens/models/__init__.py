"""Network definitions, the model registry and their specs."""

from .registry import available, load, spec
from .spec import HeadSpec, InputSpec, LayerSpec, ModelSpec

__all__ = ["HeadSpec", "InputSpec", "LayerSpec", "ModelSpec", "available", "load", "spec"]
