"""One attribution call's forward passes and batched backward passes.

:class:`AttributionSession` is the single place that touches the user's model. While it is open it
holds forward hooks (to read internal units, and to replace a layer's input for ``wrt=``); they act
only on the thread that opened the session, and all of them are removed when it closes, also after
an error; the model's buffers (BatchNorm's running statistics move in training mode) get back the
values they had when it opened. Each forward pass runs under a
:class:`~foldlens.attribution.rule_mode.RuleMode`, which finds the module of each activation call
from the interpreter's frames. Targets are read from the
passes by :mod:`foldlens.attribution.forward`.

The attributed quantity is the *slot* ``z``: the model's inputs, or the input of one layer
(``wrt="module.path"``). A forward pass may evaluate several copies of ``z`` stacked along the
batch dimension (integrated gradients, SmoothGrad, occlusion); targets then sum over the copies, so
one backward pass gives every copy's gradient.
"""

from __future__ import annotations

import difflib
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack, nullcontext
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

from .compiled import compiled_code_runs_eagerly, uncompiled
from .forward import Forward, Seed, tensors_in
from .report import PackingReport
from .rule_mode import RuleMode
from .rules import RuleSwitch
from .supports import SupportMode, custom_backward
from .targets import Neuron, Target
from .tensor_slot import CallCounter, CallSite

WRT_KINDS = {"input": "wrt", "output": "wrt_output", "tensor": "wrt_tensor"}
"""What of the module at the ``wrt`` path is attributed, and the argument that asks for it:
its (first) input with only the paths through the module (a leaf for the module alone), its
output with every path downstream, or the tensor entering it with every path (the total
derivative: a skip path reading the same tensor counts too)."""
DEFAULT_MEMORY_BUDGET = 1 << 30
PACK_FROM = 8
"""Index targets from which a forward pass derives input supports, to pack backward passes."""


class AttributionSession:
    """Forward and backward passes through ``model`` for one attribution call.

    Parameters
    ----------
    model
        Any ``nn.Module``; a ``torch.compile`` wrapper is unwrapped, compiled parts run eagerly.
    inputs
        The model's positional inputs.
    wrt
        ``None`` to attribute to ``inputs``, or the dotted path of a module; ``wrt_kind`` says
        what of that module is attributed (see :data:`WRT_KINDS`).
    targets
        Used here only to check module paths before anything runs.
    rule
        The ReLU rule of the first backward pass (it can be switched between backward passes).
    refuse_unsupported
        Raise at the first activation that has no exact rule.
    memory_budget
        Bytes that one batched backward pass may use (an estimate, see :meth:`chunk_size`).
    packing
        Whether targets may share backward passes (see :mod:`foldlens.attribution.packing`).
    wrt_kind
        A key of :data:`WRT_KINDS`.
    forward_args
        Further positional arguments of the model after ``inputs``; tensors whose first dimension
        is the batch are tiled along with stacked copies of the slot.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        inputs: tuple[torch.Tensor, ...],
        wrt: str | None,
        targets: list[Target],
        rule: str,
        refuse_unsupported: bool,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        packing: bool = True,
        wrt_kind: str = "input",
        forward_args: tuple[Any, ...] = (),
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = uncompiled(model)
        self.inputs = inputs
        self.wrt = wrt
        self.wrt_kind = wrt_kind
        self._wrt_name = WRT_KINDS[wrt_kind]
        self.forward_args = forward_args
        self.memory_budget = memory_budget
        self.packing_allowed = packing
        self.switch = RuleSwitch(rule)
        self._modules = dict(self.model.named_modules())
        self._paths: dict[int, str] = {id(m): path for path, m in self._modules.items()}
        self._check_paths(wrt, targets)
        self._thread = threading.get_ident()
        self._leaves: tuple[torch.Tensor, ...] = ()
        self._replacement: tuple[torch.Tensor, ...] | None = None
        self._wrt_calls = 0
        self._site: CallSite | None = None
        self._locator: CallCounter | None = None
        self._substituted: torch.Tensor | None = None
        self._captured: dict[str, list[Any]] = {}
        self._neuron_paths = sorted({t.module for t in targets if isinstance(t, Neuron)})
        self._pack = packing and sum(isinstance(t, Neuron | tuple) for t in targets) >= PACK_FROM
        self._supports: SupportMode | None = None
        self._independent: bool | None = None
        self._exit = ExitStack()
        self.mode = RuleMode(
            self.switch, self._where, self._depends_on_input, refuse_unsupported=refuse_unsupported
        )
        self.forward_passes = 0
        self.backward_passes = 0
        self.backward_seeds = 0
        self.last_saved_bytes = 0
        self.packing: PackingReport | None = None
        self.convergence_delta: torch.Tensor | None = None

    # -- set-up and tear-down ------------------------------------------------------------------

    def _check_paths(self, wrt: str | None, targets: list[Target]) -> None:
        paths = [wrt] if wrt is not None else []
        paths += [t.module for t in targets if isinstance(t, Neuron)]
        for path in paths:
            if path not in self._modules:
                near = difflib.get_close_matches(path, list(self._modules), n=5, cutoff=0.5)
                hint = f"; did you mean {near}?" if near else ""
                valid = [name for name in self._modules if name][:20]
                raise ValueError(
                    f"the model has no module {path!r}{hint} Module paths include {valid}"
                )
            if isinstance(self._modules[path], torch.jit.ScriptModule):
                raise ValueError(
                    f"module {path!r} is a TorchScript module: its inputs and outputs are opaque"
                )

    def opaque_modules(self) -> list[str]:
        """TorchScript submodules: their operations never reach the rule mode."""
        return [
            path or "<model>"
            for path, module in self._modules.items()
            if isinstance(module, torch.jit.ScriptModule)
        ]

    def __enter__(self) -> AttributionSession:
        try:
            self._exit.enter_context(compiled_code_runs_eagerly())
            self._exit.callback(_restore, _buffers(self.model))
            for path in self._neuron_paths:
                self._hook(self._modules[path].register_forward_hook(self._capture_hook(path)))
            if self.wrt is not None:
                module = self._modules[self.wrt]
                if self.wrt_kind == "output":
                    self._hook(module.register_forward_hook(self._output_hook))
                else:
                    hook = self._slot_hook if self.wrt_kind == "input" else self._tensor_hook
                    self._hook(module.register_forward_pre_hook(hook))
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()
        self._leaves, self._captured, self._replacement = (), {}, None

    def _hook(self, handle: RemovableHandle) -> None:
        self._exit.callback(handle.remove)

    def _mine(self) -> bool:
        return threading.get_ident() == self._thread

    def _capture_hook(self, path: str) -> Callable[..., Any]:
        def hook(module: torch.nn.Module, args: Any, output: Any) -> Any:
            if not self._mine():
                return None
            self._captured.setdefault(path, []).append(output)
            # Later in-place operations must not rewrite the captured unit: pass a copy downstream.
            return _map_tensors(output, torch.clone)

        return hook

    def _slot_hook(self, module: torch.nn.Module, args: tuple[Any, ...]) -> Any:
        """``wrt``: the module's input becomes a leaf for the module alone."""
        if not self._mine():
            return None
        self._wrt_calls += 1
        leaf = self._slot_leaf(args[0] if args else None, "first positional input")
        return (leaf.clone(), *args[1:])

    def _output_hook(self, module: torch.nn.Module, args: Any, output: Any) -> Any:
        """``wrt_output``: the module's output becomes a leaf for everything downstream."""
        if not self._mine():
            return None
        self._wrt_calls += 1
        return self._slot_leaf(output, "output").clone()

    def _tensor_hook(self, module: torch.nn.Module, args: tuple[Any, ...]) -> Any:
        """``wrt_tensor``: check that the module's input is the substituted tensor (or, in the
        locating pass, find the call that produced it)."""
        if not self._mine():
            return None
        self._wrt_calls += 1
        received = args[0] if args else None
        if self._locator is not None:
            self._site = (
                self._locator.site_of(received) if isinstance(received, torch.Tensor) else None
            )
            if self._site is None:
                raise ValueError(
                    f"wrt_tensor={self.wrt!r}: no torch operation that foldlens can see produced "
                    "the module's input: it is a model input (attribute to x itself), or was made "
                    "inside TorchScript (use wrt=)"
                )
        elif received is None or received is not self._substituted:
            raise ValueError(
                f"wrt_tensor={self.wrt!r}: the module did not receive the tensor that this pass "
                "substituted (an in-place change after the operation that produced it, or a model "
                "whose operations differ from pass to pass); use wrt= instead"
            )
        return None

    def _substitute(self, value: torch.Tensor) -> torch.Tensor:
        self._substituted = self._slot_leaf(value, "input").clone()
        return self._substituted

    def _slot_leaf(self, value: Any, what: str) -> torch.Tensor:
        """The leaf that stands for ``value`` (the module's ``what``) in this pass."""
        where = f"{self._wrt_name}={self.wrt!r}"
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{where}: the module's {what} is not a tensor")
        if not value.is_floating_point():
            raise TypeError(
                f"{where}: the module's {what} has dtype {value.dtype} and cannot carry "
                "gradients; pick a layer whose value is floating point"
            )
        if self._replacement is None:
            self._leaves = (value.detach().requires_grad_(True),)
        elif self._replacement[0].shape != value.shape:
            raise ValueError(
                f"{where}: the module's {what} has shape {tuple(value.shape)} in this pass, "
                f"{tuple(self._replacement[0].shape)} expected"
            )
        else:
            self._leaves = self._replacement
        if self._supports is not None:
            self._supports.track_origin(self._leaves[0])
        return self._leaves[0]

    # -- state read by the rule mode -----------------------------------------------------------

    def _where(self) -> str:
        """The path of the innermost module of this model whose ``forward`` is on the call stack.

        Read from the interpreter's frames when an activation is met, so that no hook has to
        follow every module call.
        """
        frame = sys._getframe(1)
        while frame is not None:
            owner: object = frame.f_locals.get("self") if frame.f_code.co_argcount else None
            path = self._paths.get(id(owner)) if isinstance(owner, torch.nn.Module) else None
            if path is not None:
                return path
            frame = frame.f_back  # type: ignore[assignment]
        return ""

    def _depends_on_input(self, tensor: torch.Tensor) -> bool:
        return tensor.grad_fn is not None or any(tensor is leaf for leaf in self._leaves)

    # -- forward passes ------------------------------------------------------------------------

    def slot_value(self) -> tuple[torch.Tensor, ...]:
        """The slot's own value: the inputs, or what reaches the ``wrt`` layer from them."""
        if self.wrt is None:
            return tuple(t.detach() for t in self.inputs)
        return tuple(t.detach() for t in self.evaluate().z)

    def evaluate(self, z: tuple[torch.Tensor, ...] | None = None, copies: int = 1) -> Forward:
        """A forward pass without autograd, for methods that only read outputs."""
        return self.forward(z, copies, grad=False)

    def forward(
        self,
        z: tuple[torch.Tensor, ...] | None = None,
        copies: int = 1,
        grad: bool = True,
        measure: bool = True,
        derive: tuple[int, ...] | None = None,
    ) -> Forward:
        """Run the model once under the rules.

        With ``z=None`` the slot takes its own value (the inputs, or what reaches the ``wrt``
        layer). Otherwise ``z`` holds ``copies`` values of the slot stacked along dimension 0.
        ``measure`` counts the bytes saved for the backward pass (for :meth:`chunk_size` and the
        size of stacked passes); a single backward seed does not need it. ``derive`` names slot
        axes along which the pass derives the supports of its tensors
        (:mod:`foldlens.attribution.supports`); a pass that may be packed derives them along
        every axis by itself.
        """
        batch = self.inputs[0].shape[0] if self.inputs and self.inputs[0].dim() > 0 else 1
        self._captured = {}
        self._leaves = ()
        self._wrt_calls = 0
        leaves = None if z is None else tuple(_leaf(t) for t in z)
        saved = [0]

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            saved[0] += tensor.numel() * tensor.element_size()
            # Not ``tensor`` itself: a node saving its own output through a hook would hold that
            # output as a Python object, a cycle through C++ that no garbage collection frees
            # (every pass's whole graph stayed in memory). A detached alias shares the storage.
            return tensor.detach()

        counting = (
            torch.autograd.graph.saved_tensors_hooks(pack, _identity) if measure else nullcontext()
        )
        slots = len(self.inputs) if self.wrt is None else 1
        if derive is not None:
            self._supports = SupportMode(derive)
        elif self._pack and grad and copies == 1 and slots == 1:
            self._supports = SupportMode()
        supports = self._supports
        # The support derivation sits below the rules on the mode stack, so that it sees every op
        # the rules let through and the ReLUs that the rules compute themselves.
        try:
            with torch.set_grad_enabled(grad), counting, supports or nullcontext():
                output = self._run_model(leaves, copies)
        finally:
            self._supports = None
        if not tensors_in(output):
            raise ValueError(
                f"the model returned a {type(output).__name__}, not a tensor (or a tuple, list or "
                "dict of tensors): attribution needs the output's autograd graph"
            )
        self.forward_passes += 1
        # At least the slot itself: a pass that saves nothing (no parameter needs a gradient)
        # still holds its copies.
        self.last_saved_bytes = max(saved[0], sum(map(_nbytes, self._leaves))) // copies
        return Forward(self._leaves, output, self._captured, copies, batch, saved[0], supports)

    def _run_model(self, leaves: tuple[torch.Tensor, ...] | None, copies: int) -> Any:
        if self.wrt is None:
            self._leaves = leaves or tuple(_leaf(t) for t in self.inputs)
            if self._supports is not None:
                for leaf in self._leaves:
                    self._supports.track_origin(leaf)
            with self.mode:
                return self.model(*(leaf.clone() for leaf in self._leaves), *self._extra(copies))
        self._replacement = leaves
        inputs = self.inputs if copies == 1 else tuple(_repeat(t, copies) for t in self.inputs)
        if self.wrt_kind == "tensor" and self._site is None:
            self._locate()
        self._substituted = None
        counter = (
            CallCounter(self._site, self._substitute)
            if self.wrt_kind == "tensor"
            else nullcontext()
        )
        extra = self._extra(copies)  # outside the counter: it numbers the model's calls only
        try:
            with self.mode, counter:
                output = self.model(*inputs, *extra)
        finally:
            self._replacement = None
        self._check_ran_once()
        return output

    def _locate(self) -> None:
        """``wrt_tensor``: one pass that finds the call producing the module's input. It runs
        without the rules (they act below the counter, so the numbering is the same) and so stays
        out of the report."""
        self._locator = CallCounter(record=True)
        try:
            with self._locator:
                self.model(*self.inputs, *self.forward_args)
        finally:
            self._locator = None
        self._check_ran_once()
        self._wrt_calls = 0

    def _check_ran_once(self) -> None:
        if self._wrt_calls != 1:
            raise ValueError(
                f"{self._wrt_name}={self.wrt!r}: the module ran {self._wrt_calls} times in one "
                "forward pass; attribute with respect to a module that runs exactly once"
            )

    def _extra(self, copies: int) -> tuple[Any, ...]:
        """The forward arguments, tensors with the batch as first dimension tiled ``copies``
        times (as the slot is)."""
        if copies == 1:
            return self.forward_args
        batch = self.inputs[0].shape[0] if self.inputs[0].dim() else None
        return tuple(
            _repeat(a, copies)
            if isinstance(a, torch.Tensor) and a.dim() and a.shape[0] == batch
            else a
            for a in self.forward_args
        )

    def copies_independent(self) -> bool:
        """Whether copies of the slot stacked along dimension 0 leave each other alone, so that
        integrated gradients, SmoothGrad and occlusion may evaluate many in one pass.

        Proven, not probed: one pass over two stacked copies derives, for every row of every
        output and captured unit, the slot rows it depends on (along dimension 0,
        :mod:`foldlens.attribution.supports`); each must stay inside its own copy. A model whose
        rows mix (BatchNorm in training mode, a recurrent or cumulative op along dimension 0)
        gets one copy per pass instead.
        """
        if self._independent is None:
            z = self.slot_value()
            if any(t.dim() == 0 for t in z) or len({t.shape[0] for t in z}) > 1:
                self._independent = False  # no batch dimension the inputs share
            else:
                twice = tuple(torch.cat([t, t]) for t in z)
                fwd = self.forward(twice, copies=2, measure=False, derive=(0,))
                self._independent = _rows_stay_in_their_copy(fwd, z[0].shape[0])
        return self._independent

    # -- backward passes -----------------------------------------------------------------------

    def chunk_size(self, fwd: Forward, seeds: list[Seed]) -> int:
        """How many seeds one batched backward pass may take within the memory budget.

        Estimate per seed: the bytes the forward pass saved for backward, plus one gradient of the
        slot and of each tensor the seeds read.
        """
        sources = {id(t): t for seed in seeds for t in seed.tensors()}
        per_seed = fwd.saved_bytes + sum(_nbytes(t) for t in (*fwd.z, *sources.values()))
        return max(1, min(len(seeds), self.memory_budget // max(per_seed, 1)))

    def gradients(
        self, fwd: Forward, seeds: list[Seed], chunk: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Backward passes from every seed under the current rule, batched in chunks.

        Returns, for each slot tensor, the stacked gradients of shape ``(len(seeds), *z.shape)``.
        """
        chunk = chunk or self.chunk_size(fwd, seeds)
        parts: list[tuple[torch.Tensor, ...]] = []
        for start in range(0, len(seeds), chunk):
            parts.append(self._batched_backward(fwd, seeds[start : start + chunk]))
        return tuple(torch.cat([p[i] for p in parts]) for i in range(len(fwd.z)))

    def _batched_backward(self, fwd: Forward, seeds: list[Seed]) -> tuple[torch.Tensor, ...]:
        sources: dict[int, torch.Tensor] = {}
        for seed in seeds:
            for tensor in seed.tensors():
                sources.setdefault(id(tensor), tensor)
        grad_outputs = {
            key: torch.zeros((len(seeds), *t.shape), dtype=t.dtype, device=t.device)
            for key, t in sources.items()
        }
        for row, seed in enumerate(seeds):
            for tensor, element in seed.points:
                grad_outputs[id(tensor)][(row, *element)] += 1
            for tensor, grad in seed.dense:
                grad_outputs[id(tensor)][row] += grad
        return self.backward(fwd, list(sources.values()), list(grad_outputs.values()))

    def backward(
        self, fwd: Forward, sources: list[torch.Tensor], grad_outputs: list[torch.Tensor]
    ) -> tuple[torch.Tensor, ...]:
        """One batched backward pass: row ``k`` of every ``grad_outputs`` entry is seed ``k``.

        Returns, for each slot tensor, the gradients of shape ``(rows, *z.shape)``.
        """
        rows = grad_outputs[0].shape[0]
        batched = rows > 1
        grads = torch.autograd.grad(
            sources,
            fwd.z,
            grad_outputs=[g if batched else g[0] for g in grad_outputs],
            retain_graph=True,
            allow_unused=True,
            is_grads_batched=batched,
        )
        self.backward_passes += 1
        self.backward_seeds += rows
        if all(g is None for g in grads):
            slot = f"{self._wrt_name}={self.wrt!r}" if self.wrt else "the model input"
            raise ValueError(f"the target does not depend on {slot}")
        return tuple(
            torch.zeros((rows, *z.shape), dtype=z.dtype, device=z.device)
            if g is None
            else g
            if batched
            else g[None]
            for g, z in zip(grads, fwd.z, strict=True)
        )


def _rows_stay_in_their_copy(fwd: Forward, rows: int) -> bool:
    """Every output row of a pass over two stacked copies (``rows`` slot rows each) depends only
    on slot rows of its own copy."""
    supports = fwd.supports
    if supports is None or not supports.sound:
        return False
    captured = [value for calls in fwd.captured.values() for value in calls]
    outputs = tensors_in(fwd.output) + tensors_in(captured)
    if custom_backward(outputs):
        return False  # a backward of its own may mix the rows that its forward kept apart
    for tensor in outputs:
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        if tensor.dim() == 0 or tensor.shape[0] % 2:
            return False
        bounds = supports.interval(tensor, 0)
        if bounds is None:
            continue  # computed without the slot
        copy = torch.arange(tensor.shape[0], device=tensor.device) // (tensor.shape[0] // 2)
        copy = copy.reshape(-1, *[1] * (tensor.dim() - 1))
        lo, hi = bounds
        inside = ((lo >= copy * rows) & (hi < (copy + 1) * rows)) | (lo > hi)
        if not bool(inside.all()):
            return False
    return True


def _buffers(model: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every buffer of ``model`` with a copy of its value (a forward pass in training mode moves
    BatchNorm's running statistics, for one)."""
    return [(buffer, buffer.detach().clone()) for buffer in model.buffers()]


def _restore(saved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    with torch.no_grad():
        for buffer, value in saved:
            if not torch.equal(buffer, value):
                buffer.copy_(value)


def _leaf(tensor: torch.Tensor) -> torch.Tensor:
    """A fresh leaf with ``tensor``'s value; it records gradients unless it holds integers."""
    leaf = tensor.detach()
    return leaf.requires_grad_(True) if leaf.is_floating_point() or leaf.is_complex() else leaf


def _identity(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _repeat(tensor: torch.Tensor, copies: int) -> torch.Tensor:
    return tensor.repeat(copies, *([1] * (tensor.dim() - 1)))


def _map_tensors(value: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, Mapping):
        return type(value)({k: _map_tensors(v, fn) for k, v in value.items()})  # type: ignore[call-arg]
    if isinstance(value, tuple | list):
        mapped = [_map_tensors(v, fn) for v in value]
        return type(value)(mapped) if not hasattr(value, "_fields") else type(value)(*mapped)
    return value
