"""The attribution engine: exact rule-based and gradient-based attribution for any PyTorch model.

Knows nothing of proteins. The public verb is :func:`attribute`; :func:`methods` lists the methods.
Rules are applied per operation through a torch function mode (see :mod:`.rule_mode`), so every
spelling of a ReLU gets its rule and the user's model is never modified.
"""

from .api import attribute, attribute_each
from .errors import UnsupportedActivationError, UnsupportedActivationWarning
from .methods import methods
from .report import ActivationRecord, AttributionReport, PackingReport
from .targets import Neuron, PerRow

__all__ = [
    "ActivationRecord",
    "AttributionReport",
    "Neuron",
    "PackingReport",
    "PerRow",
    "UnsupportedActivationError",
    "UnsupportedActivationWarning",
    "attribute",
    "attribute_each",
    "methods",
]
