"""Model adapters: every registered model through its adapter — inputs, heads, views against the
whole model, exactness from the engine's audit, mutants — and users' own models (a file, an entry
point), predicted, explained and analysed through the API."""

from __future__ import annotations

import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import foldlens as fl
from foldlens.cli import main
from foldlens.models import (
    AdapterError,
    ModelAdapter,
    adapter,
    available,
    load,
    register,
    register_file,
    unavailable,
)
from foldlens.models.adapters.default import DefaultAdapter
from foldlens.models.registry import check_adapter, register_entry_points, unregister
from foldlens.models.views import OutputTarget
from foldlens.predict import predict
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.labels import expected_distance
from foldlens.protein.record import Protein
from foldlens.server import create_app
from foldlens.service.explain import explain
from foldlens.service.method_options import MUTAGENESIS
from polling import LOCAL, finish_task, wait_job

EXAMPLE = Path(__file__).parents[1] / "examples" / "tiny_ss3.py"
SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"
SHIPPED = ("default", "seed2018", "reprof", "predictdssp")
RULES = ("gradient", "deconvnet", "guided_backprop")


@pytest.fixture(scope="module")
def tiny() -> Iterator[ModelAdapter]:
    """The README's example of a user's model, registered from its file for this module."""
    registered = register_file(f"{EXAMPLE}:TinySS3Adapter")
    yield registered
    unregister(registered.name)


def test_the_shipped_models_are_all_here() -> None:
    """CI installs reprof (Debian) and PredictDSSP (PyPI), so every shipped model must run."""
    assert set(SHIPPED) <= set(available()), unavailable()
    assert available()[0] == "default"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_adapter_checks_out(name: str) -> None:
    found = adapter(name)
    check_adapter(found)
    model_spec = found.spec
    inputs = found.encoded(Protein(SEQUENCE))
    assert inputs.x.shape == (1, len(model_spec.input.features), len(SEQUENCE))
    assert model_spec.input.features == [
        feature for group in model_spec.input.groups for feature in group.feature_names()
    ]
    prediction = predict(load(name), Protein(SEQUENCE), found)
    assert set(prediction) == {"sequence", "mode", *(head.name for head in model_spec.heads)}
    if "ss3" in prediction:
        np.testing.assert_allclose(prediction["ss3"].sum(axis=1), 1.0, atol=1e-5)


def whole_model_value(found: ModelAdapter, target: OutputTarget) -> object:
    """The target read from the whole network's output, written here from the head's transform
    (independently of the adapters' views and readouts)."""
    head = found.spec.head(target.head)
    if head.source:
        return confidence_value(found, target)

    def value(out: object) -> torch.Tensor:
        values = out[target.head] if isinstance(out, dict) else out
        assert isinstance(values, torch.Tensor)
        sample = values[0]
        if head.transform == "expected distance":
            return expected_distance(sample[:, target.i, target.j], dim=0)
        if head.transform == "identity" and target.j is not None and sample.dim() == 2:
            return sample[target.i, target.j]
        if target.j is None:
            return sample[target.index, target.i]
        return sample[target.index, target.i, target.j]

    return value


CENTRES = torch.arange(37, dtype=torch.float32) * 0.5 + 2.25
"""Bin centres of the distograms: 2.25 Å, then every 0.5 Å up to 20.25 Å."""


def _piecewise_uniform_cdf(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """P(D < x) when bin k holds mass p_k spread evenly over c_k ± 0.25 Å."""
    return (p * ((x[..., None] - (CENTRES - 0.25)) / 0.5).clamp(0, 1)).sum(-1)


def _interpolate(xs: list[float], ys: list[float], x: torch.Tensor) -> torch.Tensor:
    """The piecewise-linear map through (xs, ys), constant beyond them, at scalar ``x``."""
    if x <= xs[0]:
        return torch.tensor(ys[0]) + 0 * x
    for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:], strict=False):
        if x <= x1:
            return y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    return torch.tensor(ys[-1]) + 0 * x


def confidence_value(found: ModelAdapter, target: OutputTarget) -> object:
    """A confidence head read from the whole network's distogram logits, from the definitions:
    the expected absolute error of a cell's expected distance; or the predicted lDDT of residue i,
    Σ_j w_ij s_ij / Σ_j w_ij over j ≠ i with w = P(D < 15 Å) and s the mean over t ∈ {0.5, 1, 2,
    4} of P(|D − d̄| < t), through the model's calibration (× 100)."""
    head = found.spec.head(target.head)
    calibration = found.confidence_calibration()

    def value(out: object) -> torch.Tensor:
        assert isinstance(out, dict)
        logits = out[head.source][0]  # (bins, L, L)
        if head.transform == "expected error":
            p = logits[:, target.i, target.j].softmax(0)
            mean = (p * CENTRES).sum()
            return (p * (CENTRES - mean).abs()).sum()
        total, weights = torch.zeros(()), torch.zeros(())
        for j in range(logits.shape[-1]):
            if j == target.i:
                continue
            p = logits[:, target.i, j].softmax(0)
            mean = (p * CENTRES).sum()
            within = [
                _piecewise_uniform_cdf(p, mean + t) - _piecewise_uniform_cdf(p, mean - t)
                for t in (0.5, 1.0, 2.0, 4.0)
            ]
            weight = p[CENTRES < 15].sum()
            total = total + weight * torch.stack(within).mean()
            weights = weights + weight
        return 100 * _interpolate(calibration.raw, calibration.lddt, total / weights)

    return value


def one_target_per_head(found: ModelAdapter, length: int) -> list[OutputTarget]:
    return [
        OutputTarget(head.name, 5, None if head.kind == "per-residue" else length - 9, 1)
        if head.classes
        else OutputTarget(head.name, 5, None if head.kind == "per-residue" else length - 9)
        for head in found.spec.heads
    ]


@pytest.mark.parametrize("name", [*SHIPPED, "tiny_ss3"])
@pytest.mark.parametrize("method", RULES)
def test_views_match_the_whole_model(tiny: ModelAdapter, name: str, method: str) -> None:
    """Every adapter's view of every head gives the whole model's attribution and value; a
    rule-based method on a model the audit found inexact warns (and says so), never silently."""
    found = adapter(name)
    model = load(name)
    inputs = found.encoded(Protein(SEQUENCE[:40]))
    exact = method in found.spec.exact_methods
    for target in one_target_per_head(found, 40):
        reference_value = whole_model_value(found, target)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answer = explain(model, found, inputs, target, method, {})
            reference = fl.attribute(model, inputs.x, reference_value, method=method)
        warned = any(issubclass(w.category, fl.UnsupportedActivationWarning) for w in caught)
        assert warned == (not exact) and answer.exact == exact
        scale = reference.abs().max().item()
        assert scale > 0, (name, target)
        assert answer.attribution is not None
        np.testing.assert_allclose(answer.attribution, reference[0].numpy(), atol=1e-5 * scale)
        with torch.no_grad():
            value = reference_value(model(inputs.x))  # type: ignore[operator]
        assert answer.value == pytest.approx(float(value), abs=1e-4 * max(1.0, abs(float(value))))


@pytest.mark.parametrize("name", ["reprof", "predictdssp"])
def test_outside_models_gradient_against_autograd(name: str) -> None:
    """The gradient through the adapter equals autograd on the bare network, and the audit names
    why the rule-based methods are not exact for these networks (sigmoids, an LSTM)."""
    found, model = adapter(name), load(name)
    inputs = found.encoded(Protein(SEQUENCE))
    answer = explain(model, found, inputs, OutputTarget("ss3", 12, None, 0), "gradient", {})
    x = inputs.x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(model(x)[0, 0, 12], x)
    assert answer.exact and answer.attribution is not None
    np.testing.assert_allclose(answer.attribution, expected[0].numpy(), rtol=1e-5, atol=1e-8)
    # DeepLIFT has exact rules for reprof's sigmoids and division, none for an LSTM cell
    lstm = {"reprof": set(), "predictdssp": {"deeplift"}}[name]
    assert set(found.spec.approximate_methods) == {"deconvnet", "guided_backprop", "lrp", *lstm}
    word = {"reprof": "sigmoid", "predictdssp": "lstm"}[name]
    assert word in found.spec.approximate_reason


def test_generic_mutants_equal_the_default_networks_edit() -> None:
    """The base adapter re-encodes each mutant protein; the default network's adapter edits the
    one-hot rows of the encoded input. Both give the same inputs, with a profile and without."""
    rng = np.random.default_rng(0)
    default = DefaultAdapter()
    changes = [(0, 3), (7, 19), (33, 0), (33, 12)]
    for profile in (None, rng.dirichlet(np.ones(20), 40).astype(np.float32)):
        inputs = default.encoded(Protein(SEQUENCE[:40], profile))
        generic = ModelAdapter.mutants(default, inputs, changes)
        torch.testing.assert_close(default.mutants(inputs, changes), generic, rtol=0, atol=0)
        for row, (position, letter) in enumerate(changes):
            letters = generic[row, :20].argmax(0)
            assert AMINO_ACIDS[int(letters[position])] == AMINO_ACIDS[letter]


BROKEN = {
    "no such file": ("", "missing.py:Adapter", "no model file"),
    "no factory": ("x = 1\n", "{file}:Adapter", "has no 'Adapter'"),
    "bad reference": ("x = 1\n", "{file}", "PATH.py:FACTORY"),
    "import fails": ("import no_such_module_here\n", "{file}:Adapter", "failed to import"),
    "not an adapter": ("def make():\n    return 42\n", "{file}:make", "not a ModelAdapter"),
    "factory fails": ("def make():\n    return 1 / 0\n", "{file}:make", "ZeroDivisionError"),
    "short output": (
        "from examples_tiny import *\n"
        "class Short(TinySS3Adapter):\n"
        "    name = 'short'\n"
        "    def encode(self, protein):\n"
        "        return super().encode(protein)[..., :-1]\n",
        "{file}:Short",
        "encoded 28 residues as",
    ),
    "no weights": (
        "from examples_tiny import *\n"
        "class Unweighted(TinySS3Adapter):\n"
        "    name = 'unweighted'\n"
        "    def weights(self):\n"
        "        raise FileNotFoundError('unweighted.pt is missing')\n",
        "{file}:Unweighted",
        "unweighted.pt is missing",
    ),
    "receptive field too small": (
        "from examples_tiny import *\n"
        "class Myopic(TinySS3Adapter):\n"
        "    name = 'myopic'\n"
        "    def receptive_field(self, model):\n"
        "        return {'per-residue': 10}\n",
        "{file}:Myopic",
        "mutating residue 11 changes head 'ss3'",
    ),
    "wrong head shape": (
        "from examples_tiny import *\n"
        "import torch\n"
        "class Flat(TinySS3Adapter):\n"
        "    name = 'flat'\n"
        "    def outputs(self, model, x, pairs=True):\n"
        "        return {k: v.mean(-1) for k, v in model(x).items()}\n",
        "{file}:Flat",
        "head 'ss3' has shape",
    ),
}


@pytest.fixture
def example_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example importable as ``examples_tiny`` from ``tmp_path`` (with its weights)."""
    shutil.copy(EXAMPLE, tmp_path / "examples_tiny.py")
    shutil.copy(EXAMPLE.with_suffix(".pt"), tmp_path / "tiny_ss3.pt")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("examples_tiny", None)


@pytest.mark.parametrize("case", BROKEN)
def test_broken_adapters_are_refused_clearly(
    example_module: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, reference, words = BROKEN[case]
    path = example_module / f"broken_{case.replace(' ', '_')}.py"
    if source:
        path.write_text(source)
    reference = reference.format(file=path)
    before = available()
    with pytest.raises(AdapterError, match=words):
        register_file(reference)
    assert available() == before
    for command in (["models"], ["serve", "--port", "0"]):  # a server never starts with it
        assert main([*command, "--model-file", reference]) == 2
        error = capsys.readouterr().err
        assert "foldlens: error:" in error and "Traceback" not in error


def test_an_entry_point_registers_a_model(
    example_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package's ``foldlens.models`` entry point (a distribution on sys.path)."""
    info = example_module / "tiny_entry-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-entry\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[foldlens.models]\ntiny_entry = tiny_entry:Entry\n")
    (example_module / "tiny_entry.py").write_text(
        "from examples_tiny import TinySS3Adapter\n\n"
        "class Entry(TinySS3Adapter):\n    name = 'tiny_entry'\n"
    )
    try:
        assert register_entry_points() == ["tiny_entry"]
        assert "tiny_entry" in available()
        prediction = predict(load("tiny_entry"), Protein(SEQUENCE), "tiny_entry")
        assert prediction["ss3"].shape == (len(SEQUENCE), 3)
    finally:
        unregister("tiny_entry")
        sys.modules.pop("tiny_entry", None)


@pytest.fixture(scope="module")
def tiny_client(
    tiny: ModelAdapter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path_factory.mktemp("app")), base_url=LOCAL) as client:
        yield client


def results_of(client: TestClient, answer: dict) -> dict:
    results = dict(answer["results"])
    task = finish_task(client, answer["task"])
    if task is not None:
        assert task["status"] == "done", task
        for method, url in task["results"].items():
            results[method] = client.get(url).json()
    return results


@pytest.mark.parametrize("name", ["tiny_ss3", "reprof", "predictdssp"])
def test_a_model_through_the_api(tiny_client: TestClient, name: str) -> None:
    """Listed with its spec, predicted, explained (rule methods flagged where the audit says so)
    and analysed through the HTTP API, like the default model."""
    listed = {model["name"]: model for model in tiny_client.get("/api/models").json()}
    assert name in listed
    info = listed[name]
    groups = [group["name"] for group in info["spec"]["input"]["groups"]]
    assert groups == ["one-hot"]
    methods = {method["name"]: method for method in info["methods"]}
    exact = set(adapter(name).spec.exact_methods)
    for method in RULES:
        assert methods[method]["exact"] == (method in exact)
        assert bool(methods[method]["approximation"]) == (method not in exact)
    job = wait_job(
        tiny_client,
        tiny_client.post("/api/jobs", json={"sequence": SEQUENCE, "model": name}).json()["id"],
    )
    assert job["status"] == "done", job
    prediction = tiny_client.get(f"/api/jobs/{job['id']}/predictions").json()
    assert len(prediction["ss3"]) == len(SEQUENCE)
    target = {"head": "ss3", "i": 20, "class": "H"}
    answer = tiny_client.post(
        f"/api/jobs/{job['id']}/explain",
        json={"target": target, "methods": [*RULES, MUTAGENESIS], "wait": 0},
    ).json()
    results = results_of(tiny_client, answer)
    for method in RULES:
        assert results[method]["exact"] == (method in exact)
        assert results[method]["features"][:2] == ["one-hot A", "one-hot R"]
        assert [g["name"] for g in results[method]["feature_groups"]] == ["one-hot"]
    delta = np.array(results[MUTAGENESIS]["delta"], dtype=float)
    assert np.isfinite(delta[20]).all()
    analysis = tiny_client.post(
        f"/api/jobs/{job['id']}/analyze",
        json={"target": target, "analysis": "deletion", "options": {"method": "gradient"}},
    ).json()
    task = finish_task(tiny_client, analysis["task"])
    assert task is None or task["status"] == "done", task


def test_a_model_that_reads_no_profile_predicts_in_single_mode(tiny_client: TestClient) -> None:
    """An example comes with its profile; the default network reads it (profile mode), reprof
    does not (its input has no profile group), so its job and predictions say single mode."""
    for model, mode in (("default", "profile"), ("reprof", "single")):
        submitted = tiny_client.post("/api/jobs", json={"example": "2o38B", "model": model})
        job = wait_job(tiny_client, submitted.json()["id"])
        prediction = tiny_client.get(f"/api/jobs/{job['id']}/predictions").json()
        assert job["mode"] == prediction["mode"] == mode


def test_jobs_of_a_model_no_longer_offered_answer_404(tiny: ModelAdapter, tmp_path: Path) -> None:
    """A user's model stops being offered (its server restarted without --model-file): its
    stored jobs answer 404 saying so, never 500, and come back when the model does."""
    with TestClient(create_app(tmp_path), base_url=LOCAL) as client:
        submitted = client.post("/api/jobs", json={"sequence": SEQUENCE, "model": tiny.name})
        job = wait_job(client, submitted.json()["id"])
        assert job["status"] == "done"
        unregister(tiny.name)
        try:
            for response in (
                client.get(f"/api/jobs/{job['id']}"),
                client.get(
                    f"/api/jobs/{job['id']}/export", params={"what": "residues", "format": "csv"}
                ),
                client.post(
                    f"/api/jobs/{job['id']}/explain",
                    json={"target": {"head": "ss3", "i": 3, "class": "H"}, "methods": ["gradient"]},
                ),
            ):
                assert response.status_code == 404, response.text
                assert "unknown model 'tiny_ss3'" in response.json()["detail"]
        finally:
            register(tiny)
        assert client.get(f"/api/jobs/{job['id']}").status_code == 200


def test_a_fresh_adapters_spec_can_be_built_under_no_grad() -> None:
    """``predict`` (a ``no_grad`` function) reads the spec of the adapter it is given when the
    protein has a profile: the audit behind the spec must not depend on the caller's grad mode."""
    fresh = DefaultAdapter()
    profile = np.full((len(SEQUENCE), 20), 0.05, dtype=np.float32)
    prediction = predict(load("default"), Protein(SEQUENCE, profile), fresh)
    assert prediction["mode"] == "profile"
    assert set(fresh.spec.exact_methods) == set(fl.methods())
