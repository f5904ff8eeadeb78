"""Every op on the input's path, sorted by what a ReLU rule makes of it: an allow-list audit.

Ops are recognised by the name under which they reach ``__torch_function__`` (``torch.relu``,
``Tensor.relu_``, ``F.relu`` and ``torch.ops.aten.relu.default`` all arrive as ``relu``), and
only ops on the input's path are audited (an argument computed from the input):

``relu``
    ``relu``, ``relu_``, ``clamp(min=0)``, ``clamp_min(0)``, ``threshold(f, 0, 0)``,
    ``maximum(f, 0)``: the rule is applied.
``linear``
    Affine maps and data movement: sums and differences, convolutions, ``linear``, products and
    quotients with a constant, sums and means, views, indexing, ``cat``, ``pad``, max/average
    pooling (max selects), eval-mode batch norm, dropout, casts. No rule changes a linear map:
    exact as they are.
``product``
    Products of two tensors computed from the input (gating, outer products, ``einsum``,
    ``matmul``): the plain gradient, by the methods' definition; recorded, not flagged.
``nonlinear``
    Every other op: smooth activations, softmax, normalisation by the data, ``clamp`` with a
    maximum, comparisons that make masks from the input (``h * (h > 0)``), recurrent cells,
    attention. The plain gradient passes; named in a warning, an error under ``strict=True``.

Anything not on the ``linear`` or ``product`` lists is ``nonlinear``: an op this module does not
know is named, never passed silently. DeepLIFT (:mod:`.reference`) reads the lists its own way:
a selection (``max``, ``sort``, max pooling) is linear for a gradient but not for a difference
between two inputs; a product gets its exact rule only when it is bilinear in two tensors computed
from the input (:func:`bilinear_operands`); and elementwise functions of one computed tensor
(:func:`as_elementwise`) and softmax (:func:`softmax_call`) get exact rules of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

LINEAR = "linear"
PRODUCT = "product"
NONLINEAR = "nonlinear"


def name_set(text: str) -> frozenset[str]:
    """The whitespace-separated names in ``text``."""
    return frozenset(text.split())


LINEAR_OPS = name_set(
    """
    add add_ sub sub_ subtract rsub neg neg_ negative positive __add__ __radd__ __iadd__ __sub__
    __rsub__ __isub__ __neg__ __pos__ sum nansum mean nanmean cumsum trace diff
    conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d convolution linear
    embedding interpolate upsample upsample_nearest1d upsample_nearest2d upsample_linear1d
    upsample_bilinear2d
    view view_as reshape reshape_as _unsafe_view flatten unflatten permute transpose t movedim
    moveaxis swapaxes swapdims squeeze squeeze_ unsqueeze unsqueeze_ expand expand_as broadcast_to
    contiguous clone detach alias lift_fresh_copy to _to_copy type_as float double half bfloat16
    select slice narrow __getitem__ __setitem__ index_select gather take take_along_dim
    masked_select masked_fill masked_fill_ index_put index_put_ index_add index_add_ scatter
    scatter_ scatter_add scatter_add_ where copy_ cat concat concatenate stack hstack vstack dstack
    split split_with_sizes chunk unbind tensor_split roll flip fliplr flipud rot90 repeat tile pad
    constant_pad_nd reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d
    diagonal diag_embed unfold fold tril triu
    max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices
    max_pool3d_with_indices adaptive_max_pool1d adaptive_max_pool2d avg_pool1d avg_pool2d
    avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d
    max min amax amin sort topk kthvalue
    _native_batch_norm_legit_no_training
    dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout
    native_dropout
    """
)
"""Linear in the input (piecewise, for selections) whatever the data: no rule applies."""

PRODUCT_OPS = name_set(
    """
    mul mul_ multiply __mul__ __rmul__ __imul__ matmul __matmul__ __rmatmul__ mm bmm addmm
    addbmm baddbmm addmv mv dot inner outer ger einsum tensordot kron bilinear addcmul addcmul_
    """
)
"""Linear when at most one operand is computed from the input, a product of two otherwise."""

SELECTION_OPS = name_set(
    """
    max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices
    max_pool3d_with_indices adaptive_max_pool1d adaptive_max_pool2d
    max min amax amin sort topk kthvalue
    """
)
"""Linear ops that pick entries by their values: which entries, differs between two inputs."""

BILINEAR_OPS = name_set(
    """
    mul multiply __mul__ __rmul__ matmul __matmul__ __rmatmul__ mm bmm mv dot inner outer ger
    einsum tensordot kron
    """
)
"""Out-of-place products that are bilinear in their two tensor arguments."""

QUOTIENT_OPS = name_set("div div_ divide true_divide __truediv__ __itruediv__")
"""Linear when the divisor is constant."""

MASK_OPS = name_set(
    """
    gt ge lt le eq ne greater greater_equal less less_equal equal not_equal __gt__ __ge__ __lt__
    __le__ __eq__ __ne__ sign sgn signbit argmax argmin argsort isclose heaviside
    """
)
"""Ops that turn values computed from the input into masks or indices: a data-dependent gate."""

QUERIES = name_set(
    """
    __get__ __set__ size dim numel shape is_floating_point is_complex is_contiguous stride
    storage_offset untyped_storage data_ptr element_size __len__ __format__ __repr__ __bool__
    __index__ __int__ __float__ item tolist requires_grad_ retain_grad _is_view
    is_inference is_conj is_neg device dtype
    zeros_like ones_like empty_like full_like rand_like randn_like randint_like new_zeros new_ones
    new_empty new_full new_tensor
    """
)
"""Reading a tensor's metadata or value, or making a new tensor of its shape: nothing to
audit."""


SMOOTH_OPS = name_set(
    """
    sigmoid tanh exp expm1 softplus elu selu celu gelu silu mish logsigmoid log_sigmoid softsign
    erf atan asinh sin cos reciprocal
    """
)
"""Smooth elementwise functions of one tensor (DeepLIFT's Rescale rule applies)."""

KINKED_OPS = name_set("leaky_relu hardtanh relu6 abs __abs__ absolute hardsigmoid hardswish prelu")
"""Elementwise functions of one tensor with kinks, piecewise smooth (Rescale applies)."""

SOFTMAX_OPS = {"softmax": False, "_softmax": False, "log_softmax": True, "_log_softmax": True}
"""Softmax along one dimension, and whether it is the logarithm of it."""


@dataclass(frozen=True)
class ElementwiseCall:
    """A call ``f(x)`` applied to each element of its one computed tensor ``x = args[0]`` (in
    place when ``inplace``); ``kinked`` when ``f`` has kinks (its secant is computed even over
    the smallest difference, where a smooth ``f`` takes its derivative)."""

    inplace: bool
    kinked: bool


def as_elementwise(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], on_graph: Callable[[Any], bool]
) -> ElementwiseCall | None:
    """How ``name(*args, **kwargs)`` applies a known elementwise function to ``args[0]``, the
    call's only argument computed from the input; ``None`` otherwise."""
    stem = name[:-1] if name.endswith("_") and not name.endswith("__") else name
    if stem not in SMOOTH_OPS and stem not in KINKED_OPS:
        return None
    if not (args and isinstance(args[0], torch.Tensor) and on_graph(args[0])):
        return None
    others = [*args[1:], *kwargs.values()]
    if any(isinstance(a, torch.Tensor) and on_graph(a) for a in others):
        return None
    inplace = stem != name or kwargs.get("inplace") is True
    return ElementwiseCall(inplace=inplace, kinked=stem in KINKED_OPS)


def quotient_call(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], on_graph: Callable[[Any], bool]
) -> tuple[Any, torch.Tensor] | None:
    """``(numerator, divisor)`` of an out-of-place true division by a tensor computed from the
    input; ``None`` for any other call."""
    if name in ("__rtruediv__", "__rdiv__") and len(args) == 2:
        numerator, divisor = args[1], args[0]
    elif name in ("div", "divide", "true_divide", "__truediv__") and len(args) >= 1:
        if kwargs.get("rounding_mode") is not None:
            return None
        numerator, divisor = args[0], kwargs.get("other", args[1] if len(args) > 1 else None)
    else:
        return None
    if not (isinstance(divisor, torch.Tensor) and on_graph(divisor)):
        return None
    if isinstance(numerator, torch.Tensor | int | float):
        return numerator, divisor
    return None


def softmax_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    """The dimension of a softmax (or log-softmax) call over ``args[0]`` along a given
    dimension; ``None`` for any other call."""
    if name not in SOFTMAX_OPS or not args or not isinstance(args[0], torch.Tensor):
        return None
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    return dim if isinstance(dim, int) and not isinstance(dim, bool) else None


@dataclass(frozen=True)
class ReLUCall:
    """A call that computes ``max(f, 0)`` on ``f`` (in place when ``inplace``); ``at_zero`` is the
    share of the gradient that the call's own autograd passes where ``f = 0``: 0 for ``relu`` and
    ``threshold``, 1 for ``clamp``, ½ for ``maximum`` (a tie)."""

    inplace: bool
    at_zero: float = 0.0


def op_name(func: Callable[..., Any]) -> str:
    """``relu`` for ``torch.relu``, ``Tensor.relu`` and ``torch.ops.aten.relu.default`` alike."""
    return getattr(func, "__name__", "").split(".")[0]


def _zero(value: Any) -> bool:
    """``value`` is the number 0, or a constant tensor of zeros."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, torch.Tensor) and value.grad_fn is None and not value.requires_grad:
        return value.numel() <= 1 and bool((value == 0).all())
    return False


def as_relu(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], on_graph: Callable[[Any], bool]
) -> ReLUCall | None:
    """How ``name(*args, **kwargs)`` computes a ReLU of ``args[0]``, or ``None`` if it does not."""
    if name in ("relu", "relu_"):
        return ReLUCall(inplace=name.endswith("_") or bool(kwargs.get("inplace", False)))
    if name in ("clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_min_"):
        low = kwargs.get("min", args[1] if len(args) > 1 else None)
        high = kwargs.get("max", args[2] if len(args) > 2 else None)
        if _zero(low) and high is None:
            return ReLUCall(inplace=name.endswith("_"), at_zero=1.0)
        return None
    if name in ("threshold", "threshold_", "_threshold"):
        threshold = kwargs.get("threshold", args[1] if len(args) > 1 else None)
        value = kwargs.get("value", args[2] if len(args) > 2 else None)
        if _zero(threshold) and _zero(value):
            inplace = name == "threshold_" or bool(kwargs.get("inplace", args[3:4] == (True,)))
            return ReLUCall(inplace=inplace)
        return None
    if name in ("maximum", "max", "fmax") and len(args) == 2 and not kwargs:
        f, other = args
        if (
            isinstance(f, torch.Tensor)
            and on_graph(f)
            and _zero(other)
            and (other.dim() == 0 or other.dtype == f.dtype)
        ):
            return ReLUCall(inplace=False, at_zero=0.5)
    return None


def classify(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], on_graph: Callable[[Any], bool]
) -> str | None:
    """The class of a call that is not a ReLU and whose arguments include the input's path
    (see the module docstring); ``None`` for metadata queries."""
    if name in QUERIES:
        return None
    if name in PRODUCT_OPS:
        operands = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        return PRODUCT if sum(on_graph(a) for a in operands) > 1 else LINEAR
    if name in QUOTIENT_OPS:
        divisor = kwargs.get("other", args[1] if len(args) > 1 else None)
        return NONLINEAR if isinstance(divisor, torch.Tensor) and on_graph(divisor) else LINEAR
    if name == "batch_norm":
        training = kwargs.get("training", args[5] if len(args) > 5 else False)
        return NONLINEAR if training else LINEAR
    if name in LINEAR_OPS:
        return LINEAR
    return NONLINEAR


def bilinear_operands(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], on_graph: Callable[[Any], bool]
) -> list[int] | None:
    """For a product of two tensors computed from the input that is bilinear in them, their
    positions among ``args`` then ``kwargs``' values; ``None`` otherwise (in place, more than
    two such operands, or not bilinear, as ``addmm``'s sum)."""
    if name not in BILINEAR_OPS:
        return None
    flat = [*args, *kwargs.values()]
    if name == "einsum" and len(args) == 2 and isinstance(args[1], list | tuple):
        return None  # einsum(equation, [a, b]): operands inside a list
    tensors = [k for k, a in enumerate(flat) if isinstance(a, torch.Tensor)]
    computed = [k for k in tensors if on_graph(flat[k])]
    return computed if len(computed) == 2 and len(tensors) == 2 else None


def flat_call(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Any], Callable[[list[Any]], Any]]:
    """The call's arguments as one list (``args`` then ``kwargs``' values, the positions
    :func:`bilinear_operands` gives), and ``func`` called with such a list."""
    keys = list(kwargs)
    flat = [*args, *kwargs.values()]

    def call(values: list[Any]) -> Any:
        return func(*values[: len(args)], **dict(zip(keys, values[len(args) :], strict=True)))

    return flat, call


def describe(name: str) -> str:
    """How a nonlinear call is named in the report."""
    return f"{name} (a mask computed from the input)" if name in MASK_OPS else name
