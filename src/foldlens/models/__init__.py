"""Network definitions, their adapters, the model registry and their specs."""

from .adapter import Encoded, ModelAdapter
from .registry import (
    AdapterError,
    UnknownModelError,
    adapter,
    available,
    load,
    register,
    register_file,
    spec,
    unavailable,
    version,
)
from .spec import FeatureGroup, HeadSpec, InputSpec, LayerSpec, ModelSpec, reads_profile

__all__ = [
    "AdapterError",
    "Encoded",
    "FeatureGroup",
    "HeadSpec",
    "InputSpec",
    "LayerSpec",
    "ModelAdapter",
    "ModelSpec",
    "UnknownModelError",
    "adapter",
    "available",
    "load",
    "reads_profile",
    "register",
    "register_file",
    "spec",
    "unavailable",
    "version",
]
