"""Which torch calls are activations, and which of them have an exact ReLU rule.

Calls are recognised by the name under which they reach ``__torch_function__``, so every spelling
of one operation is covered: ``nn.ReLU`` (with or without ``inplace``), ``F.relu``, ``F.relu_``,
``torch.relu``, ``torch.relu_``, ``Tensor.relu`` and ``Tensor.relu_`` all arrive as ``relu`` or
``relu_``. ``clamp(min=0)`` and ``threshold(f, 0, 0)`` compute the same function and get the
same rule.

Everything in :data:`NO_EXACT_RULE` is an element-wise non-linearity or a fused block (recurrent
cells, attention) whose backward pass the ReLU rules cannot reach; a rule-based method passes the
plain gradient through them and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RELU_NAMES = frozenset({"relu", "relu_"})
CLAMP_NAMES = frozenset({"clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_min_"})
THRESHOLD_NAMES = frozenset({"threshold", "threshold_", "_threshold"})

NO_EXACT_RULE = frozenset(
    {
        # smooth or leaky element-wise activations
        "gelu", "silu", "silu_", "mish", "elu", "elu_", "selu", "selu_", "celu", "celu_",
        "softplus", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "relu6",
        "hardtanh", "hardtanh_", "hardswish", "hardswish_", "hardsigmoid", "hardsigmoid_",
        "sigmoid", "sigmoid_", "special_expit", "log_sigmoid", "logsigmoid", "tanh", "tanh_",
        "softsign", "tanhshrink", "softshrink", "hardshrink", "erf", "erf_", "erfc", "erfc_",
        "special_erf", "special_erfc", "glu",
        # normalised exponentials
        "softmax", "log_softmax", "softmin", "special_softmax", "special_log_softmax",
        # fused blocks
        "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell",
        "rnn_relu_cell", "scaled_dot_product_attention", "multi_head_attention_forward",
        # thresholds other than threshold(f, 0, 0), which is a ReLU
        "threshold", "threshold_", "_threshold",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ReLUCall:
    """A call that computes ``max(f, 0)`` on ``f`` (in place when ``inplace``); ``at_zero``: its
    autograd lets the gradient through at ``f = 0`` (``clamp``), not only where ``f > 0``."""

    inplace: bool
    at_zero: bool = False


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def as_relu(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ReLUCall | None:
    """Return how ``name(*args, **kwargs)`` computes a ReLU, or ``None`` if it does not."""
    if name in RELU_NAMES:
        return ReLUCall(inplace=name.endswith("_") or bool(kwargs.get("inplace", False)))
    if name in CLAMP_NAMES:
        low = kwargs.get("min", args[1] if len(args) > 1 else None)
        high = kwargs.get("max", args[2] if len(args) > 2 else None)
        if _number(low) == 0.0 and high is None:
            return ReLUCall(inplace=name.endswith("_"), at_zero=True)
        return None
    if name in THRESHOLD_NAMES:
        threshold = kwargs.get("threshold", args[1] if len(args) > 1 else None)
        value = kwargs.get("value", args[2] if len(args) > 2 else None)
        if _number(threshold) == 0.0 and _number(value) == 0.0:
            inplace = name == "threshold_" or bool(kwargs.get("inplace", args[3:4] == (True,)))
            return ReLUCall(inplace=inplace)
        return None
    return None


def is_activation(name: str) -> bool:
    """True for every name that :func:`as_relu` or :func:`lacks_exact_rule` may claim."""
    return name in _ACTIVATION_NAMES


def lacks_exact_rule(name: str) -> bool:
    """True for activations that no ReLU rule covers (the gradient passes through them).

    Ask :func:`as_relu` first: ``threshold(f, 0, 0)`` is a ReLU, other thresholds are not.
    """
    return name in NO_EXACT_RULE


_ACTIVATION_NAMES = RELU_NAMES | CLAMP_NAMES | THRESHOLD_NAMES | NO_EXACT_RULE
