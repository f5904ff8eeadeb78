"""foldlens: protein structure prediction you can explain.

>>> import foldlens as fl
>>> sorted(fl.methods())[:3]
['deconvnet', 'gradient', 'guided_backprop']
"""

from .attribution import (
    ActivationRecord,
    AttributionReport,
    Neuron,
    PerRow,
    UnsupportedActivationError,
    UnsupportedActivationWarning,
    attribute,
    attribute_each,
    methods,
)

__version__ = "0.1.0"

__all__ = [
    "ActivationRecord",
    "AttributionReport",
    "Neuron",
    "PerRow",
    "UnsupportedActivationError",
    "UnsupportedActivationWarning",
    "__version__",
    "attribute",
    "attribute_each",
    "methods",
]
