"""Which positions of the attributed input each tensor of a forward pass can depend on, derived
op by op from the forward pass itself.

:class:`SupportMode` watches one forward pass (a ``TorchFunctionMode``). For every tensor computed
from the slot ``z`` it keeps, for each tracked axis ``a`` of ``z``, two tensors ``lo`` and ``hi``
(broadcastable to the tensor, so a value shared by all channels is stored once) such that

    element ``e`` depends on ``z`` only through the positions ``lo[e] ≤ q ≤ hi[e]`` along ``a``

(any position along the other axes). An element computed without ``z`` has the empty interval
``lo = +∞, hi = −∞``. ``z`` itself starts with ``lo = hi = q``. Each op has a transfer rule that
contains the intervals of every element its output element is computed from:

=================================================  ===============================================
op                                                 interval of an output element
=================================================  ===============================================
data movement: views, permutes, indexing, ``cat``,  the same op applied to ``lo`` and ``hi`` (exact)
``stack``, ``pad``, ``gather``, …
pointwise: arithmetic, activations, casts,         union over the broadcast operands
comparisons, ``where``, dropout, eval BatchNorm
convolution, max/average pooling                   union over the output's window (convolutions:
                                                   and over all input channels)
``linear``, ``matmul``                             union over the contracted axis
reductions, softmax, layer norm along ``dim``      union over those dims
any other op                                       union over all its tensor arguments depend on
=================================================  ===============================================

The last row makes the derivation sound for every op, known or not: an unknown op only makes
intervals wider. What it cannot see makes it give up (:attr:`SupportMode.sound` turns false): a
tensor computed from ``z`` outside its view (TorchScript, an op run with torch functions
disabled), a gradient hook, an ``out=`` argument, or an in-place op that widens a tensor whose
memory another tensor shares. :func:`custom_backward` finds autograd nodes whose backward need not
follow the forward ops (custom ``autograd.Function``\\s, module backward hooks).

Why it matters (:mod:`foldlens.attribution.packing`): the backward signal of a target reaches
only elements it was computed from, and their intervals lie inside the target's. Two targets with
disjoint intervals can therefore only meet at elements with an empty interval, which do not reach
``z`` at all: one backward pass seeded with both gives, at each position of ``z``, exactly the map
of the one target whose interval holds that position, under every ReLU rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from .activations import name_set, op_name
from .forward import tensors_in
from .reference import Multiplied, SoftmaxDifference
from .rules import RuleReLU, RuleReLUInplace

Interval = tuple[torch.Tensor, torch.Tensor]
"""``(lo, hi)``, broadcastable to the tensor they describe."""

CONSTANT = None
"""The entry of a tensor computed without ``z``."""


_BOUND_DTYPE = torch.float64  # exact for positions below 2**53; ±inf marks the empty interval

POINTWISE = name_set(
    """
    abs absolute add sub subtract rsub mul multiply div divide true_divide floor_divide
    remainder fmod pow float_power neg negative positive reciprocal square sqrt rsqrt exp exp2
    expm1 log log2 log10 log1p sin cos tan asin acos atan atan2 arctan2 sinh cosh tanh asinh
    acosh atanh erf erfc erfinv sigmoid logit sign sgn signbit clamp clamp_min clamp_max clip
    maximum minimum fmax fmin where lerp addcmul addcdiv hypot floor ceil round trunc frac
    nan_to_num masked_fill copysign relu relu6 leaky_relu rrelu hardtanh elu selu celu gelu silu
    mish softplus softsign hardsigmoid hardswish logsigmoid tanhshrink softshrink hardshrink
    threshold prelu dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout eq
    ne lt le gt ge greater less equal not_equal logical_and logical_or logical_not logical_xor
    isnan isinf isfinite bitwise_and bitwise_or bitwise_xor bitwise_not to float double half
    bfloat16 type type_as detach requires_grad_ __add__ __radd__ __sub__ __rsub__ __mul__
    __rmul__ __truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__
    __rpow__ __neg__ __pos__ __abs__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__ __invert__
    __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __iadd__ __isub__ __imul__ __itruediv__
    __ifloordiv__ __imod__ __ipow__ __iand__ __ior__ __ixor__
    """
)

MOVEMENT = name_set(
    """
    view view_as reshape reshape_as flatten unflatten permute transpose t movedim moveaxis
    swapaxes swapdims squeeze unsqueeze expand expand_as broadcast_to contiguous clone select
    narrow __getitem__ index_select gather take_along_dim masked_select cat concat concatenate
    stack hstack vstack dstack split split_with_sizes chunk unbind tensor_split roll flip fliplr
    flipud rot90 repeat tile pad diagonal unfold tril triu
    """
)

CONVOLUTIONS = {"conv1d": 1, "conv2d": 2, "conv3d": 3}
POOLS = {
    "max_pool1d": 1, "max_pool2d": 2, "max_pool3d": 3,
    "avg_pool1d": 1, "avg_pool2d": 2, "avg_pool3d": 3,
}  # fmt: skip
REDUCTIONS = frozenset(["sum", "mean", "amax", "amin", "logsumexp", "nansum", "nanmean"])
ALONG_DIM = frozenset(["softmax", "log_softmax", "softmin"])


def _replace(value: Any, swap: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        return swap(value)
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(_replace(v, swap) for v in value)
    if isinstance(value, dict):
        return {k: _replace(v, swap) for k, v in value.items()}
    return value


def _aligned(bound: torch.Tensor, ndim: int) -> torch.Tensor:
    """``bound`` with leading size-1 dims up to ``ndim`` dims (broadcasting's alignment)."""
    return bound.reshape((1,) * (ndim - bound.dim()) + tuple(bound.shape))


def _spatial(value: Any, dims: int) -> list[int]:
    return list(value) if isinstance(value, list | tuple) else [int(value)] * dims


class SupportMode(TorchFunctionMode):
    """Derive the intervals of the tensors of one forward pass (see the module docstring).

    :meth:`track_origin` registers ``z`` (each slot tensor, if several) once it exists. ``axes``
    are the axes of ``z`` to track; by default every axis longer than one.
    """

    def __init__(self, axes: Sequence[int] | None = None) -> None:
        super().__init__()
        self._given_axes = None if axes is None else tuple(axes)
        self.axes: tuple[int, ...] = ()
        self.sound = True
        self._known: dict[torch.Tensor, Any] = WeakIdKeyDictionary()  # type: ignore[assignment]
        """Tensor → ``{axis: (lo, hi)}``, or :data:`CONSTANT`."""

    def track_origin(self, z: torch.Tensor) -> None:
        """Register ``z``: each element depends on its own position along every tracked axis."""
        self.axes = self._given_axes or tuple(a for a, n in enumerate(z.shape) if n > 1)
        bounds = {}
        for axis in self.axes:
            shape = [1] * z.dim()
            shape[axis] = z.shape[axis]
            position = torch.arange(z.shape[axis], dtype=_BOUND_DTYPE, device=z.device)
            position = position.reshape(shape)
            bounds[axis] = (position, position)
        self._known[z] = bounds

    def interval(self, tensor: torch.Tensor, axis: int) -> Interval | None:
        """``(lo, hi)`` of ``tensor`` along ``axis``, each of the tensor's shape; ``None`` for a
        tensor this pass did not compute (or computed without ``z``)."""
        bounds = self._known.get(tensor)
        if bounds is None:
            return None
        lo, hi = bounds[axis]
        return lo.expand(tensor.shape), hi.expand(tensor.shape)

    # -- the mode ------------------------------------------------------------------------------

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = op_name(func)
        if name in ("register_hook", "register_post_accumulate_grad_hook"):
            self.sound = False  # a hook may move gradients anywhere
        if kwargs.get("out") is not None:
            self.sound = False  # written out of this mode's view
        before = self._before_in_place(name, args)
        result = func(*args, **kwargs)
        if not self.sound:
            return result
        written = [args[0]] if name == "__setitem__" else tensors_in(result)
        outputs = [t for t in written if t.is_floating_point() or t.is_complex()]
        if not outputs:
            return result
        tracked = self._tracked(list(args) + list(kwargs.values()))
        if tracked is None:
            self.sound = False
        elif not tracked:
            for output in outputs:
                if output not in self._known:
                    self._known[output] = CONSTANT
        else:
            self._transfer(func, name, args, kwargs, outputs, tracked)
            self._check_in_place(name, args, before)
        return result

    def _tracked(self, values: list[Any]) -> list[torch.Tensor] | None:
        """The arguments computed from ``z``; ``None`` when one's origin is unknown."""
        tracked = []
        for tensor in tensors_in(values):
            entry = self._known.get(tensor, "unknown")
            if isinstance(entry, dict):
                tracked.append(tensor)
            elif entry == "unknown" and tensor.grad_fn is not None:
                return None  # computed by something this mode did not see
        return tracked

    def _transfer(
        self,
        func: Callable[..., Any],
        name: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        outputs: list[torch.Tensor],
        tracked: list[torch.Tensor],
    ) -> None:
        for axis in self.axes:
            try:
                bounds = self._rule(func, name, axis, args, kwargs, outputs, tracked)
            except (RuntimeError, TypeError, ValueError, IndexError):
                bounds = None  # a rule that does not fit this call: fall back to the union
            if bounds is None or len(bounds) != len(outputs):
                bounds = [self._union(axis, tracked, output) for output in outputs]
            for output, (lo, hi) in zip(outputs, bounds, strict=True):
                if torch.broadcast_shapes(lo.shape, output.shape) != output.shape:  # type: ignore[no-untyped-call]
                    lo, hi = self._union(axis, tracked, output)
                entry = self._known.get(output)
                if not isinstance(entry, dict):
                    entry = {}
                    self._known[output] = entry
                entry[axis] = (_compact(lo), _compact(hi))

    def _rule(
        self,
        func: Callable[..., Any],
        name: str,
        axis: int,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        outputs: list[torch.Tensor],
        tracked: list[torch.Tensor],
    ) -> list[Interval] | None:
        """The intervals of ``outputs`` by the op's transfer rule; ``None``: take the union."""
        base = name if name.startswith("__") else name.rstrip("_")
        if base in POINTWISE:
            return [self._pointwise(axis, tracked, outputs[0].dim())]
        if base in MOVEMENT or name == "__setitem__":
            return self._mirror(func, name, axis, args, kwargs)
        if any(t is not args[0] for t in tracked):
            return None  # the rules below follow the data argument only (not, say, a weight)
        if name in CONVOLUTIONS:
            return [self._window(name, axis, args, kwargs, CONVOLUTIONS[name])]
        if name in POOLS:
            return [self._window(name, axis, args, kwargs, POOLS[name])]
        if name == "batch_norm" and not _argument(args, kwargs, 5, "training", False):
            return [self._bounds(args[0], axis)]
        if name == "linear":
            lo, hi = self._bounds(args[0], axis)
            return [(lo.amin(-1, keepdim=True), hi.amax(-1, keepdim=True))]
        if name in ("matmul", "__matmul__", "mm", "bmm"):
            return [self._matmul(axis, args)]
        if name == "einsum":
            return [self._einsum(axis, args, outputs[0].dim())]
        if name in REDUCTIONS or name in ALONG_DIM or name == "layer_norm":
            return [self._reduce(name, axis, args, kwargs)]
        return None

    # -- transfer rules ------------------------------------------------------------------------

    def _bounds(self, tensor: Any, axis: int) -> Interval:
        """The compact ``(lo, hi)`` of an argument; empty for one computed without ``z``."""
        entry = self._known.get(tensor) if isinstance(tensor, torch.Tensor) else None
        if isinstance(entry, dict):
            return entry[axis]  # type: ignore[no-any-return]
        ndim = tensor.dim() if isinstance(tensor, torch.Tensor) else 0
        device = tensor.device if isinstance(tensor, torch.Tensor) else None
        empty = torch.full((1,) * ndim, math.inf, dtype=_BOUND_DTYPE, device=device)
        return empty, -empty

    def _union(self, axis: int, tracked: list[torch.Tensor], output: torch.Tensor) -> Interval:
        """Every element depends on everything any tracked argument depends on."""
        shape = (1,) * output.dim()
        lo = min(float(self._bounds(t, axis)[0].min()) for t in tracked)
        hi = max(float(self._bounds(t, axis)[1].max()) for t in tracked)
        return (
            torch.full(shape, lo, dtype=_BOUND_DTYPE, device=output.device),
            torch.full(shape, hi, dtype=_BOUND_DTYPE, device=output.device),
        )

    def _pointwise(self, axis: int, tracked: list[torch.Tensor], ndim: int) -> Interval:
        pairs = [self._bounds(t, axis) for t in tracked]
        lo, hi = _aligned(pairs[0][0], ndim), _aligned(pairs[0][1], ndim)
        for other_lo, other_hi in pairs[1:]:
            lo = torch.minimum(lo, _aligned(other_lo, ndim))
            hi = torch.maximum(hi, _aligned(other_hi, ndim))
        return lo, hi

    def _mirror(
        self,
        func: Callable[..., Any],
        name: str,
        axis: int,
        args: Sequence[Any],
        kwargs: dict[str, Any],
    ) -> list[Interval]:
        """The same op on ``lo`` and on ``hi``: floating-point arguments replaced by their
        bounds; indices, masks and shapes kept. Cells the op fills itself (padding, zeros)
        are constants, so whatever it writes there is a sound bound."""
        mirrored = []
        writes = _in_place(name)
        for side in (0, 1):

            def swap(tensor: torch.Tensor, side: int = side) -> torch.Tensor:
                if not (tensor.is_floating_point() or tensor.is_complex()):
                    return tensor
                bound = self._bounds(tensor, axis)[side].expand(tensor.shape)
                return bound.clone() if writes else bound  # a broadcast view cannot be written

            new_args = _replace(list(args), swap)
            new_kwargs = _replace(kwargs, swap)
            with torch._C.DisableTorchFunction():
                out = func(*new_args, **new_kwargs)
            mirrored.append(tensors_in(new_args[0] if name == "__setitem__" else out))
        return list(zip(mirrored[0], mirrored[1], strict=True))

    def _window(
        self, name: str, axis: int, args: Sequence[Any], kwargs: dict[str, Any], dims: int
    ) -> Interval:
        """Union over each output element's window of a convolution (over all input channels
        too) or pooling, with the call's stride, padding and dilation; padding is empty."""
        x = args[0]
        lo, hi = self._bounds(x, axis)
        lo, hi = _aligned(lo, x.dim()), _aligned(hi, x.dim())
        if name in CONVOLUTIONS:
            kernel = list(_argument(args, kwargs, 1, "weight", None).shape[2:])
            stride = _spatial(_argument(args, kwargs, 3, "stride", 1), dims)
            padding = _argument(args, kwargs, 4, "padding", 0)
            dilation = _spatial(_argument(args, kwargs, 5, "dilation", 1), dims)
            lo, hi = lo.amin(-dims - 1, keepdim=True), hi.amax(-dims - 1, keepdim=True)
        else:
            kernel = _spatial(_argument(args, kwargs, 1, "kernel_size", None), dims)
            stride = _spatial(_argument(args, kwargs, 2, "stride", None) or kernel, dims)
            padding = _argument(args, kwargs, 3, "padding", 0)
            max_pool = name.startswith("max")
            dilation = _spatial(_argument(args, kwargs, 4, "dilation", 1) if max_pool else 1, dims)
            if _argument(args, kwargs, 5 if max_pool else 4, "ceil_mode", False):
                raise ValueError("ceil_mode windows take the union")
        if padding == "valid":
            padding = 0
        if padding == "same":
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            sides = [(t // 2, t - t // 2) for t in total]
        else:
            sides = [(p, p) for p in _spatial(padding, dims)]
        if all(n == 1 for n in lo.shape[-dims:]):
            return lo, hi  # one interval all along the window's axes: nothing to pool
        spatial = tuple(x.shape[-dims:])
        lead = tuple(lo.shape[:-dims])
        flat = [s for pair in reversed(sides) for s in pair]
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
        with torch._C.DisableTorchFunction():
            lo = F.pad(lo.expand(*lead, *spatial).reshape(-1, 1, *spatial), flat, value=math.inf)
            hi = F.pad(hi.expand(*lead, *spatial).reshape(-1, 1, *spatial), flat, value=-math.inf)
            lo = -pool(-lo, kernel, stride, 0, dilation)
            hi = pool(hi, kernel, stride, 0, dilation)
        return lo.reshape(*lead, *lo.shape[2:]), hi.reshape(*lead, *hi.shape[2:])

    def _matmul(self, axis: int, args: Sequence[Any]) -> Interval:
        a, b = args[0], args[1]
        if a.dim() < 2 or b.dim() < 2:
            raise ValueError("matrix-vector products take the union")
        (alo, ahi), (blo, bhi) = self._bounds(a, axis), self._bounds(b, axis)
        alo, ahi = _aligned(alo, a.dim()), _aligned(ahi, a.dim())
        blo, bhi = _aligned(blo, b.dim()), _aligned(bhi, b.dim())
        ndim = max(a.dim(), b.dim())
        lo = torch.minimum(_aligned(alo.amin(-1, True), ndim), _aligned(blo.amin(-2, True), ndim))
        hi = torch.maximum(_aligned(ahi.amax(-1, True), ndim), _aligned(bhi.amax(-2, True), ndim))
        return lo, hi

    def _einsum(self, axis: int, args: Sequence[Any], ndim: int) -> Interval:
        """Each output element reads, in every operand, the elements with its own letters and
        any value of the summed-over letters."""
        equation = args[0].replace(" ", "")
        operands = list(args[1] if len(args) == 2 and isinstance(args[1], list) else args[1:])
        if "..." in equation or "->" not in equation:
            raise ValueError("implicit and ellipsis equations take the union")
        inputs, output = equation.split("->")
        lows, highs = [], []
        for letters, operand in zip(inputs.split(","), operands, strict=True):
            if len(set(letters)) != len(letters) or not isinstance(operand, torch.Tensor):
                raise ValueError("diagonals take the union")
            lo, hi = self._bounds(operand, axis)
            lo, hi = _aligned(lo, len(letters)), _aligned(hi, len(letters))
            summed = tuple(k for k, c in enumerate(letters) if c not in output)
            if summed:
                lo, hi = lo.amin(summed), hi.amax(summed)
            kept = [c for c in letters if c in output]
            order = sorted(range(len(kept)), key=lambda k: output.index(kept[k]))
            placed = [kept[k] for k in order]
            shape = [lo.shape[order[placed.index(c)]] if c in placed else 1 for c in output]
            lows.append(lo.permute(order).reshape(shape))
            highs.append(hi.permute(order).reshape(shape))
        lo, hi = lows[0], highs[0]
        for other_lo, other_hi in zip(lows[1:], highs[1:], strict=True):
            lo, hi = torch.minimum(lo, other_lo), torch.maximum(hi, other_hi)
        return _aligned(lo, ndim), _aligned(hi, ndim)

    def _reduce(
        self, name: str, axis: int, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> Interval:
        x = args[0]
        lo, hi = self._bounds(x, axis)
        lo, hi = _aligned(lo, x.dim()), _aligned(hi, x.dim())
        if name == "layer_norm":
            shape = _argument(args, kwargs, 1, "normalized_shape", None)
            dims, keep = tuple(range(-len(shape), 0)), True
        elif name in ALONG_DIM:
            dims, keep = _argument(args, kwargs, 1, "dim", None), True
        else:
            dims = _argument(args, kwargs, 1, "dim", None)
            keep = bool(_argument(args, kwargs, 2, "keepdim", False))
        if dims is None or isinstance(dims, str):
            raise ValueError("reductions over everything take the union")
        return lo.amin(dims, keepdim=keep), hi.amax(dims, keepdim=keep)

    # -- in-place ops --------------------------------------------------------------------------

    def _before_in_place(self, name: str, args: Sequence[Any]) -> Any:
        """What an in-place op's target held before: its entry (``"unknown"`` if none)."""
        if not _in_place(name) or not args or not isinstance(args[0], torch.Tensor):
            return None
        entry = self._known.get(args[0], "unknown")
        return dict(entry) if isinstance(entry, dict) else entry

    def _check_in_place(self, name: str, args: Sequence[Any], before: Any) -> None:
        """An in-place op that widened its target's intervals leaves every other tensor on the
        same memory (views of it, or what it views) stale: then the derivation gives up."""
        if not _in_place(name) or not args or not isinstance(args[0], torch.Tensor):
            return
        target = args[0]
        after = self._known.get(target)
        if not isinstance(after, dict) or _same(before, after):
            return
        memory = target.untyped_storage().data_ptr()
        for other in list(self._known.keys()):
            if other is not target and other.untyped_storage().data_ptr() == memory:
                self.sound = False
                return


def _compact(bound: torch.Tensor) -> torch.Tensor:
    """``bound`` with every broadcast dim (stride 0) cut to length one: the same values once
    broadcast, without the memory a later op would spend on the repeats."""
    for dim, (size, stride) in enumerate(zip(bound.shape, bound.stride(), strict=True)):
        if size > 1 and stride == 0:
            bound = bound.narrow(dim, 0, 1)
    return bound


def _same(before: Any, after: dict[int, Interval]) -> bool:
    if not isinstance(before, dict):
        return False
    return all(
        torch.equal(before[a][0], after[a][0]) and torch.equal(before[a][1], after[a][1])
        for a in after
    )


def _in_place(name: str) -> bool:
    if name.startswith("__"):
        return name.startswith("__i") or name == "__setitem__"
    return name.endswith("_")


def _argument(
    args: Sequence[Any], kwargs: dict[str, Any], position: int, key: str, default: Any
) -> Any:
    if key in kwargs:
        return kwargs[key]
    return args[position] if len(args) > position else default


def custom_backward(sources: Sequence[torch.Tensor]) -> list[str]:
    """Autograd nodes between ``sources`` and the leaves whose backward is user code (custom
    ``autograd.Function``\\s other than foldlens's own rules, module backward hooks). foldlens's
    rules keep the forward op's support: the ReLU rules and DeepLIFT's multipliers act element
    by element, DeepLIFT's softmax rule mixes along the softmax's own dimension."""
    found: list[str] = []
    seen: set[int] = set()
    stack = [t.grad_fn for t in sources]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        owner = getattr(node, "_forward_cls", None)
        if isinstance(node, torch.autograd.function.BackwardCFunction) and owner not in (
            RuleReLU,
            RuleReLUInplace,
            Multiplied,
            SoftmaxDifference,
        ):
            found.append(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return found
