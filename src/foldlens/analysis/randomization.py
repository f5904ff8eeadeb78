"""The model-parameter randomization test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

An explanation of what a model learned must change when the learned weights are destroyed. The
test re-initialises the model's layers, from the output towards the input ("cascade": each step
randomizes one more layer) or one at a time ("independent"), recomputes every method's map on
each randomized copy and compares it with the map of the original model (:mod:`.metrics`). A map
that survives full randomization shows the input (edges, the sequence) rather than the model.

The user's model is never changed: every randomized model is a deep copy.

Example
-------
>>> import torch
>>> from foldlens.analysis import randomization_test
>>> net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3, padding=1), torch.nn.ReLU(),
...                           torch.nn.Conv1d(8, 2, 3, padding=1))
>>> result = randomization_test(net, torch.randn(1, 4, 32), (0, 1, 10), ["gradient"])
>>> result.layers
['2', '0']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
from torch import nn

from ..attribution import attribute, attribute_each
from ..attribution.api import SHARED_FORWARD
from ..attribution.methods import get_method
from .errors import AnalysisCancelledError
from .maps import as_map
from .metrics import Array, MapSimilarity, default_k, similarity

Mode = Literal["cascade", "independent"]
MODES: tuple[Mode, ...] = ("cascade", "independent")

DEPENDS_BELOW = 0.5
BARELY_ABOVE = 0.8
"""Thresholds on ρ, the Spearman correlation of the absolute maps of the original and of a
randomized model. Above ``BARELY_ABOVE`` the map keeps its ranking: it *survives* that
randomization. Below ``DEPENDS_BELOW`` it has lost most of it. The bands follow the rank
correlations Adebayo et al. 2018 (Fig. 4) report for maps that pass (near 0) and fail (guided
backprop, near 1)."""
SURVIVES_MOST = 0.5
SURVIVES_FEW = 0.25
"""Shares of the randomized layers (cascade steps, or layers randomized alone) that the map
survives, for the verdict."""
DEPENDS = "depends on the weights"
PARTLY = "partly"
BARELY = "barely changes"
NOISE_STD = 0.02
"""Standard deviation of the noise replacing a parameter whose own spread is zero or undefined."""


def verdict(survived: int, layers: int, fully_randomized: float) -> str:
    """The verdict of the whole randomization curve of one method's map.

    ``survived`` of the ``layers`` randomized layers leave ρ(|map|) above :data:`BARELY_ABOVE`;
    ``fully_randomized`` is ρ(|map|) with everything randomized (the last cascade step; in
    independent mode the lowest over the layers). With the share ``s = survived / layers``:

    * :data:`BARELY` changes when ``s ≥ 1/2`` or ``fully_randomized > 0.8``: the map keeps its
      ranking through the randomization of at least half the layers (or of all of them);
    * :data:`DEPENDS` on the weights when ``s < 1/4`` and ``fully_randomized < 0.5``: it changes
      soon and ends up a different map;
    * :data:`PARTLY` otherwise.
    """
    share = survived / layers if layers else 1.0
    if share >= SURVIVES_MOST or fully_randomized > BARELY_ABOVE:
        return BARELY
    if share < SURVIVES_FEW and fully_randomized < DEPENDS_BELOW:
        return DEPENDS
    return PARTLY


def parameter_layers(model: nn.Module, run: Callable[[], object]) -> list[str]:
    """Dotted paths of the modules that own parameters and run during ``run()``, in run order.

    A module owns a parameter when it is in ``module.parameters(recurse=False)``. A module is
    placed when its forward first returns (forward hooks, removed afterwards), so one that owns
    parameters and also calls children comes after them. TorchScript modules, whose calls cannot
    be hooked, are left out; so are modules that do not run.
    """
    order: dict[str, None] = {}
    handles = []
    try:
        for path, module in model.named_modules():
            if isinstance(module, torch.jit.ScriptModule):
                continue
            if next(module.parameters(recurse=False), None) is not None:

                def seen(*_: object, path: str = path) -> None:
                    order.setdefault(path, None)

                handles.append(module.register_forward_hook(seen))
        run()
    finally:
        for handle in handles:
            handle.remove()
    return list(order)


def randomize_layer(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module``'s own parameters in place, reproducibly from ``generator``.

    A module with ``reset_parameters()`` gets it, run under a forked global RNG seeded from
    ``generator``. Every own parameter that this leaves unchanged (a module without it, a bare
    ``nn.Parameter``, a norm layer whose reset restores the initial ones and zeros) is replaced by
    ``N(0, s²)`` noise, ``s`` the parameter's standard deviation, or :data:`NOISE_STD` when that
    is zero or the parameter has one element.
    """
    own = list(module.parameters(recurse=False))
    before = [p.detach().clone() for p in own]
    reset = getattr(module, "reset_parameters", None)
    if callable(reset):
        seed = int(torch.randint(2**62, (1,), generator=generator))
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            reset()
    with torch.no_grad():
        for parameter, old in zip(own, before, strict=True):
            if torch.equal(parameter, old):
                spread = float(old.std()) if old.numel() > 1 else 0.0
                noise = torch.randn(old.shape, generator=generator, dtype=old.dtype).to(old.device)
                parameter.copy_(noise.to(old.device) * (spread or NOISE_STD))


def randomized_models(
    model: nn.Module, layers: Sequence[str], mode: Mode, seed: int = 0
) -> Iterator[tuple[str, nn.Module]]:
    """Randomized deep copies of ``model``, as ``(layer path, copy)``, last layer first.

    ``layers`` are in forward order (see :func:`parameter_layers`); both modes visit them from the
    last (nearest the output) to the first. ``"cascade"``: each copy is a copy of the previous one
    with one more layer randomized. ``"independent"``: each copy is a copy of ``model`` with only
    that layer randomized. One generator seeded with ``seed`` draws all randomizations in visiting
    order, so a layer gets the same new values in both modes. ``model`` is never changed.
    """
    _check_mode(mode)
    generator = torch.Generator().manual_seed(seed)
    return _randomized(model, list(reversed(layers)), mode == "cascade", generator)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")


def _randomized(
    model: nn.Module, layers: list[str], cascade: bool, generator: torch.Generator
) -> Iterator[tuple[str, nn.Module]]:
    previous = model
    for path in layers:
        randomized = copy.deepcopy(previous if cascade else model)
        randomize_layer(randomized.get_submodule(path), generator)
        previous = randomized
        yield path, randomized


@dataclass(frozen=True)
class RandomizationResult:
    """What :func:`randomization_test` found.

    ``layers``: the randomized layers in the order visited (last layer first); ``similarities``:
    per method, one :class:`MapSimilarity` (original map vs. this step's map) per layer in that
    order; ``verdicts``: per method, :func:`verdict` of its whole curve.
    """

    mode: Mode
    layers: list[str]
    similarities: dict[str, list[MapSimilarity]]
    verdicts: dict[str, str]

    @property
    def unchanged_layers(self) -> dict[str, int]:
        """Per method, how many of the randomized layers the map survives (ρ(|map|) above
        :data:`BARELY_ABOVE`): the cascade steps (``cascade``), or the layers whose own
        randomization leaves it so (``independent``)."""
        return {method: _survived(steps) for method, steps in self.similarities.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "layers": list(self.layers),
            "similarities": {
                method: [step.to_json() for step in steps]
                for method, steps in self.similarities.items()
            },
            "verdicts": dict(self.verdicts),
            "unchanged_layers": self.unchanged_layers,
        }


def randomization_test(
    model: nn.Module,
    x: torch.Tensor,
    target: Any,
    methods: Sequence[str],
    layers: Sequence[str] | None = None,
    mode: Mode = "cascade",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    k: int | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    region: Callable[[Array], Array] | None = None,
) -> RandomizationResult:
    """Compare each method's map on ``model`` with its maps on randomized copies.

    Parameters
    ----------
    model
        The model, in the mode it explains in (``eval()``; a training-mode batch norm would update
        its statistics on each forward pass). Never changed.
    x
        The input, batch dimension of 1.
    target
        One target, as for :func:`foldlens.attribute`.
    methods
        Method names from :func:`foldlens.methods`.
    layers
        Dotted paths of the layers to randomize (a subset of :func:`parameter_layers`; visited in
        forward order reversed whatever order they are given in). Default: all of them.
    mode
        ``"cascade"`` or ``"independent"`` (see :func:`randomized_models`).
    options
        Per method, its options for :func:`foldlens.attribute`.
    k
        For the top-k overlap; default :func:`default_k` of the map size.
    seed
        Seeds the randomization.
    progress
        Called with the fraction done after the original's maps and after each randomized layer.
    cancelled
        Polled before each attribution; when it returns True, :class:`AnalysisCancelledError`.
    region
        Cuts each 2D map to the part compared, e.g. the positions that can change the target:
        elements that are zero in every map by construction would inflate the rank correlation.

    Returns
    -------
    :class:`RandomizationResult`. Maps are compared as 2D arrays (see :func:`.maps.as_map`).
    """
    if x.dim() < 1 or x.shape[0] != 1:
        raise ValueError(f"x must have a batch dimension of 1, got shape {tuple(x.shape)}")
    _check_mode(mode)
    methods = list(methods)
    if not methods:
        raise ValueError("give at least one method")
    for method in methods:
        get_method(method)
    options = options or {}
    stray = sorted(set(options) - set(methods))
    if stray:
        raise ValueError(f"options given for {stray}, which are not among the methods {methods}")

    def forward() -> None:
        with torch.no_grad():
            model(x)

    chosen = _choose(parameter_layers(model, forward), layers)

    shared = [m for m in methods if m in SHARED_FORWARD and not options.get(m)]
    shared = shared if len(shared) > 1 else []

    def maps_of(net: nn.Module) -> dict[str, Array]:
        """Every method's map on ``net``; the gradient family from one forward pass."""
        if cancelled is not None and cancelled():
            raise AnalysisCancelledError("the randomization test was cancelled")
        together = attribute_each(net, x, target, shared) if shared else {}
        found = {m: cast(torch.Tensor, maps) for m, maps in together.items()}
        for method in methods:
            if method in found:
                continue
            if cancelled is not None and cancelled():
                raise AnalysisCancelledError("the randomization test was cancelled")
            found[method] = attribute(net, x, target, method, **options.get(method, {}))
        maps = {method: as_map(found[method]) for method in methods}
        return maps if region is None else {m: region(found) for m, found in maps.items()}

    original = maps_of(model)
    steps = len(chosen) + 1
    if progress is not None:
        progress(1 / steps)
    size = next(iter(original.values())).size
    top = default_k(size) if k is None else k
    similarities: dict[str, list[MapSimilarity]] = {method: [] for method in methods}
    visited = []
    for step, (path, randomized) in enumerate(randomized_models(model, chosen, mode, seed), 2):
        maps = maps_of(randomized)
        for method in methods:
            similarities[method].append(similarity(original[method], maps[method], top))
        visited.append(path)
        if progress is not None:
            progress(step / steps)
    return RandomizationResult(
        mode=mode,
        layers=visited,
        similarities=similarities,
        verdicts={
            method: verdict(_survived(steps), len(steps), _fully_randomized(steps, mode))
            for method, steps in similarities.items()
        },
    )


def _survived(steps: list[MapSimilarity]) -> int:
    """How many randomization steps leave ρ(|map|) above :data:`BARELY_ABOVE`."""
    return sum(step.spearman_absolute > BARELY_ABOVE for step in steps)


def _fully_randomized(steps: list[MapSimilarity], mode: Mode) -> float:
    if mode == "cascade":
        return steps[-1].spearman_absolute
    return min(step.spearman_absolute for step in steps)


def _choose(available: list[str], layers: Sequence[str] | None) -> list[str]:
    if not available:
        raise ValueError("the model has no layer with parameters that runs on this input")
    if layers is None:
        return available
    unknown = [path for path in layers if path not in available]
    if unknown:
        raise ValueError(
            f"unknown layers {unknown}; layers with parameters that run on this input: {available}"
        )
    if not layers:
        raise ValueError(f"give at least one layer of {available}")
    return [path for path in available if path in set(layers)]
