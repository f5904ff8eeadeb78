"""Explanations of one target: the fast views against the full model, mutagenesis against a loop
written here, the method catalogue, and the explain API (cache, tasks, cancel, bad requests)."""

from __future__ import annotations

import copy
import dataclasses
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import foldlens as fl
from foldlens import models as fl_models
from foldlens.attribution.methods import REGISTRY
from foldlens.models import Encoded, adapter, spec
from foldlens.models.default import DefaultNet
from foldlens.models.seed2018 import Seed2018Net
from foldlens.models.views import OutputTarget, UnitTarget
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.labels import expected_distance
from foldlens.protein.record import Protein
from foldlens.server import create_app
from foldlens.service.errors import InvalidInputError
from foldlens.service.explain import explain, explain_together
from foldlens.service.method_options import (
    ENGINE_ONLY,
    MUTAGENESIS,
    check_options,
    method_catalogue,
)
from foldlens.service.targets import check_target, receptive_residues
from polling import LOCAL, finish, finish_task, wait_for, wait_job

RULES = ("gradient", "deconvnet", "guided_backprop")
HELIX = {"head": "ss3", "i": 1, "class": "H"}


def random_input(length: int, seed: int, profile: bool) -> Encoded:
    """A random protein encoded for the shipped networks (both read the same 41 features)."""
    rng = np.random.default_rng(seed)
    sequence = "".join(rng.choice(list(AMINO_ACIDS), length))
    columns = rng.dirichlet(np.ones(20), length).astype(np.float32) if profile else None
    return adapter("default").encoded(Protein(sequence, columns))


def full_model_value(model: torch.nn.Module, target: OutputTarget) -> object:
    """The target read from the whole model's output, written independently of the views."""
    model_spec = spec("default" if isinstance(model, DefaultNet) else "seed2018")
    head = model_spec.head(target.head)

    def value(out: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = out[target.head][0]
        if head.transform == "expected distance":
            return expected_distance(logits[:, target.i, target.j], dim=0)
        if head.transform == "identity":
            return logits[target.i, target.j]
        if target.j is None:
            return logits[target.index, target.i]
        return logits[target.index, target.i, target.j]

    return value


@pytest.fixture(scope="module")
def default_net() -> DefaultNet:
    torch.manual_seed(3)
    return DefaultNet().eval()


OUTPUTS = [
    OutputTarget("ss3", 7, None, 1),
    OutputTarget("rsa", 129, None, 0),
    OutputTarget("dist_ca_cb", 2, 127),  # |i - j| > 2 R: two separate windows
    OutputTarget("dist_cb_ca", 100, 60),  # overlapping windows: one shared window
    OutputTarget("contact", 128, 126),  # at the chain's end
    OutputTarget("dist_cb_cb", 5, 5),
]


@pytest.mark.parametrize("target", OUTPUTS, ids=lambda t: f"{t.head}-{t.i}-{t.j}")
@pytest.mark.parametrize("method", RULES)
def test_output_views_match_the_full_model(
    default_net: DefaultNet, target: OutputTarget, method: str
) -> None:
    inputs = random_input(130, seed=1, profile=True)
    x = inputs.x
    answer = explain(default_net, adapter("default"), inputs, target, method, {})
    reference = fl.attribute(default_net, x, full_model_value(default_net, target), method=method)
    scale = reference.abs().max().item()
    assert scale > 0
    np.testing.assert_allclose(answer.attribution, reference[0].numpy(), atol=1e-5 * scale)
    with torch.no_grad():
        assert answer.value == pytest.approx(
            float(full_model_value(default_net, target)(default_net(x))), abs=1e-4
        )  # type: ignore[operator]


DEEPLIFT_TARGETS = [
    OutputTarget("dist_ca_cb", 2, 127),  # an expected distance: a softmax over bins
    OutputTarget("contact", 128, 126),
    OutputTarget("ss3", 7, None, 1),
]


@pytest.mark.parametrize("baseline", ["zero", "average"])
@pytest.mark.parametrize("target", DEEPLIFT_TARGETS, ids=lambda t: f"{t.head}-{t.i}-{t.j}")
def test_deeplift_views_match_the_full_model(
    default_net: DefaultNet, target: OutputTarget, baseline: str
) -> None:
    """DeepLIFT through the target's view equals DeepLIFT through the whole model, against
    the same reference (zeros, or every channel at its mean over the residues); the value at
    the reference is the whole model's there, and the map sums to the change."""
    inputs = random_input(130, seed=2, profile=True)
    x = inputs.x
    reference = torch.zeros_like(x) if baseline == "zero" else x.mean(2, keepdim=True).expand_as(x)
    options = check_options("deeplift", {"baseline": baseline})
    answer = explain(default_net, adapter("default"), inputs, target, "deeplift", options)
    value = full_model_value(default_net, target)
    want = fl.attribute(default_net, x, value, "deeplift", baseline=reference.clone())
    scale = want.abs().max().item()
    assert answer.exact and not answer.approximation and scale > 0
    np.testing.assert_allclose(answer.attribution, want[0].numpy(), atol=1e-5 * scale)
    with torch.no_grad():
        at_reference = float(value(default_net(reference.clone())))  # type: ignore[operator]
    assert answer.reference_value == pytest.approx(at_reference, abs=1e-4)
    assert answer.map_sum == pytest.approx(answer.value - at_reference, abs=1e-4)


LRP_TARGETS = [OutputTarget("contact", 46, 44), OutputTarget("ss3", 7, None, 1)]


@pytest.mark.parametrize("composite", ["epsilon_plus", "epsilon_gamma_box", "epsilon_alpha2_beta1"])
@pytest.mark.parametrize("target", LRP_TARGETS, ids=lambda t: f"{t.head}-{t.i}-{t.j}")
def test_lrp_views_match_the_full_model(
    default_net: DefaultNet, target: OutputTarget, composite: str
) -> None:
    """LRP through the target's view (windows of the pair map, valid convolutions) equals LRP
    through the whole model: every rule reads per-unit quantities the view computes alike. γ in
    float64: its denominators come close to zero in a random network's residual sums, where
    float32's different orders of summation would differ visibly."""
    dtype = torch.float64 if composite == "epsilon_gamma_box" else torch.float32
    net = copy.deepcopy(default_net).to(dtype)
    inputs = random_input(48, seed=3, profile=True)  # the contact at the chain's end
    inputs = dataclasses.replace(inputs, x=inputs.x.to(dtype))
    options = check_options("lrp", {"composite": composite})
    answer = explain(net, adapter("default"), inputs, target, "lrp", options)
    value = full_model_value(net, target)
    want = fl.attribute(net, inputs.x, value, "lrp", composite=composite)
    scale = want.abs().max().item()
    assert answer.exact and scale > 0
    np.testing.assert_allclose(answer.attribution, want[0].numpy(), rtol=1e-4, atol=1e-5 * scale)


def test_deeplift_says_which_targets_it_is_not_exact_for() -> None:
    """The predicted lDDT's calibrated readout (clamps, thresholds) has no exact rule: that
    explanation says so and why, while the model's method list keeps DeepLIFT exact."""
    found = adapter("default")
    model = fl_models.load("default")
    inputs = random_input(40, seed=5, profile=False)
    options = check_options("deeplift", {})
    answer = explain(model, found, inputs, OutputTarget("plddt", 20), "deeplift", options)
    assert not answer.exact and "clamp" in answer.approximation
    assert answer.map_sum != pytest.approx(answer.value - answer.reference_value, abs=1e-3)
    assert {m.name: m.exact for m in method_catalogue(found.spec)}["deeplift"]
    pae = explain(model, found, inputs, OutputTarget("pae", 3, 30), "deeplift", options)
    assert pae.exact  # the expected error: products, a softmax and |·|, all with rules
    assert pae.map_sum == pytest.approx(pae.value - pae.reference_value, abs=1e-4)


@pytest.mark.parametrize(
    "target", [OutputTarget("dist_cb_cb", 70, 200), OutputTarget("contact", 100, 150)]
)
def test_cell_views_inside_the_chain_match_the_full_model(
    default_net: DefaultNet, target: OutputTarget
) -> None:
    """Windows that lie inside the chain (no cell to zero: the view skips the masks), two apart
    and one shared, give the full model's maps by every rule."""
    inputs = random_input(270, seed=4, profile=True)
    rows = [r for r, _ in default_net.pair_cell_windows(target.i, target.j)]
    assert all(r.min() >= 0 and r.max() < 270 for r in rows)
    answers = explain_together(default_net, adapter("default"), inputs, target, list(RULES))
    for method in RULES:
        reference = fl.attribute(
            default_net, inputs.x, full_model_value(default_net, target), method=method
        )
        scale = reference.abs().max().item()
        assert scale > 0
        np.testing.assert_allclose(
            answers[method].attribution, reference[0].numpy(), atol=1e-5 * scale
        )


@pytest.mark.parametrize(
    "target",
    [
        UnitTarget("trunk2d.2.conv1", 5, 20, 90),
        UnitTarget("trunk1d.4.conv2", 3, 64),
        UnitTarget("left", 11, 3),
        UnitTarget("distogram", 40, 129, 0),
    ],
    ids=lambda t: f"{t.layer}-{t.i}-{t.j}",
)
@pytest.mark.parametrize("method", RULES)
def test_unit_views_match_the_full_model(
    default_net: DefaultNet, target: UnitTarget, method: str
) -> None:
    inputs = random_input(130, seed=2, profile=False)
    x = inputs.x
    answer = explain(default_net, adapter("default"), inputs, target, method, {})
    index = (0, target.channel, target.i) + (() if target.j is None else (target.j,))
    reference = fl.attribute(default_net, x, fl.Neuron(target.layer, index), method=method)
    scale = reference.abs().max().item()
    assert scale > 0
    np.testing.assert_allclose(answer.attribution, reference[0].numpy(), atol=1e-5 * scale)


@pytest.mark.parametrize("method", RULES)
def test_seed2018_window_matches_the_full_model(method: str) -> None:
    torch.manual_seed(4)
    net = Seed2018Net().eval()
    inputs = random_input(40, seed=5, profile=True)
    x = inputs.x
    for target in (OutputTarget("dist_cb_cb", 3, 30), OutputTarget("dist_ca_cb", 20, 21)):
        answer = explain(net, adapter("seed2018"), inputs, target, method, {})
        reference = fl.attribute(net, x, full_model_value(net, target), method=method)
        np.testing.assert_allclose(answer.attribution, reference[0].numpy(), atol=1e-6)
        unit = UnitTarget("conv2", 9, target.i, target.j)
        answer = explain(net, adapter("seed2018"), inputs, unit, method, {})
        neuron = fl.Neuron("conv2", (0, 9, target.i, target.j))
        np.testing.assert_allclose(
            answer.attribution, fl.attribute(net, x, neuron, method=method)[0].numpy(), atol=1e-6
        )


LAYER_CASES = [
    (OutputTarget("dist_ca_cb", 2, 127), "trunk2d.3.conv1"),  # two separate windows
    (OutputTarget("dist_cb_ca", 100, 60), "trunk2d.6.conv2"),  # one shared window
    (OutputTarget("dist_cb_cb", 128, 126), "distogram"),  # the heads read (i, j) and (j, i)
    (OutputTarget("contact", 128, 126), "contact"),
    (OutputTarget("dist_cb_cb", 40, 41), "trunk1d.5.conv1"),
    (OutputTarget("rsa", 9), "embed"),
    (UnitTarget("trunk2d.4.conv2", 7, 30, 80), "trunk2d.1.conv1"),
]


@pytest.mark.parametrize("target, layer", LAYER_CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("method", [*RULES, "integrated_gradients"])
def test_layer_attribution_matches_the_full_model(
    default_net: DefaultNet, target: OutputTarget | UnitTarget, layer: str, method: str
) -> None:
    """Attribution to a layer's input through the view, placed on the map, against the same
    through the whole model (whose layer input is the full L × L map)."""
    inputs = random_input(130, seed=6, profile=True)
    x = inputs.x
    options = {"steps": 8} if method == "integrated_gradients" else {}
    answer = explain(default_net, adapter("default"), inputs, target, method, options, wrt=layer)
    if isinstance(target, UnitTarget):
        reference_target: object = fl.Neuron(target.layer, (0, target.channel, target.i, target.j))
    else:
        reference_target = full_model_value(default_net, target)
    reference = fl.attribute(
        default_net, x, reference_target, method=method, wrt=layer, memory_budget=2**28, **options
    )
    assert answer.layer is not None
    if reference.dim() == 3:  # a 1D layer: channels × residues
        got = answer.layer.channels
        expected = reference[0].numpy()
    else:
        got = answer.layer.pair
        expected = reference[0].sum(dim=0).numpy()
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(got, expected, atol=2e-5 * scale)
    signed, _ = answer.residue_scores()
    assert signed.sum() == pytest.approx(expected.sum(), abs=1e-4 * float(np.abs(expected).sum()))


@pytest.mark.parametrize("method", RULES)
def test_seed2018_conv1_gives_the_2018_grid(method: str) -> None:
    """For output (i, j), the 21 × 21 grid of state pairs, each the window of the conv1 input
    around (i, j): the full model's attribution to conv1's input, cut and reshaped here."""
    torch.manual_seed(4)
    net = Seed2018Net().eval()
    inputs = random_input(40, seed=7, profile=True)
    x = inputs.x
    target = OutputTarget("dist_cb_cb", 3, 30)
    answer = explain(net, adapter("seed2018"), inputs, target, method, {}, wrt="conv1")
    reference = fl.attribute(net, x, full_model_value(net, target), method=method, wrt="conv1")
    assert answer.layer is not None and answer.layer.grid is not None
    rows, cols = np.arange(0, 11), np.arange(23, 38)  # 3 ± 7 and 30 ± 7 inside the chain
    np.testing.assert_array_equal(answer.layer.grid_rows, rows)
    np.testing.assert_array_equal(answer.layer.grid_cols, cols)
    window = reference[0].numpy()[:, rows][:, :, cols].reshape(21, 21, len(rows), len(cols))
    np.testing.assert_allclose(answer.layer.grid, window, atol=1e-6)
    np.testing.assert_allclose(answer.layer.pair, reference[0].sum(dim=0).numpy(), atol=1e-5)
    document = answer.to_json("A" * 40)
    assert document["wrt"] == "conv1" and len(document["grid"]["values"]) == 21


@pytest.mark.parametrize(
    "target, layer, method, words",
    [
        (OutputTarget("rsa", 9), "trunk2d.0.conv1", "gradient", "does not depend"),
        (OutputTarget("rsa", 9), "ss3", "gradient", "does not depend"),
        (OutputTarget("contact", 50, 52), "distogram", "gradient", "does not depend"),
        (UnitTarget("trunk1d.2.conv1", 3, 50), "trunk1d.4.conv1", "gradient", "does not depend"),
        (OutputTarget("rsa", 9), "nowhere", "gradient", "has no layer"),
        (OutputTarget("rsa", 9), "embed", "occlusion", "model input only"),
        (OutputTarget("rsa", 9), "embed", MUTAGENESIS, "model input only"),
    ],
)
def test_bad_layers(
    default_net: DefaultNet, target: OutputTarget | UnitTarget, layer: str, method: str, words: str
) -> None:
    inputs = random_input(60, seed=8, profile=False)
    with pytest.raises(InvalidInputError, match=words):
        explain(
            default_net,
            adapter("default"),
            inputs,
            target,
            method,
            check_options(method, {}),
            wrt=layer,
        )


def test_mutagenesis_against_a_loop() -> None:
    """Δ_ka = f(x with residue k → a) − f(x), checked at a few residues with the whole model
    (a narrow network of the default's shape keeps the loop fast)."""
    torch.manual_seed(6)
    narrow = DefaultNet(channels=16, pair_channels=8).eval()
    inputs = random_input(70, seed=6, profile=True)
    x = inputs.x
    for target in (OutputTarget("ss8", 30, None, 2), OutputTarget("dist_cb_cb", 10, 50)):
        answer = explain(narrow, adapter("default"), inputs, target, MUTAGENESIS, {"window": 6})
        value = full_model_value(narrow, target)
        assert answer.delta is not None
        outside = np.isnan(answer.delta).all(axis=1)
        near = np.abs(np.arange(70) - target.i) <= 6
        if target.j is not None:
            near |= np.abs(np.arange(70) - target.j) <= 6
        np.testing.assert_array_equal(~outside, near)
        with torch.no_grad():
            wild = float(value(narrow(x)))  # type: ignore[operator]
            for k in np.flatnonzero(near)[[0, 7, -1]]:
                for a in (0, 7, 19):
                    mutant = x.clone()
                    mutant[0, :20, k] = 0
                    mutant[0, a, k] = 1
                    expected = float(value(narrow(mutant))) - wild  # type: ignore[operator]
                    assert answer.delta[k, a] == pytest.approx(expected, abs=2e-4)
        wild_type = x[0, :20].argmax(0).numpy()
        np.testing.assert_allclose(answer.delta[near, wild_type[near]], 0, atol=1e-4)


def test_receptive_residues_and_mutagenesis_outside_them(default_net: DefaultNet) -> None:
    model_spec = spec("default")
    radius = model_spec.receptive_field["per-residue"]
    assert radius is not None
    inside = receptive_residues(OutputTarget("rsa", 10), model_spec, 300)
    assert inside.sum() == 10 + radius + 1 and inside[10 + radius] and not inside[11 + radius]


def test_method_catalogue_lists_the_engine_and_mutagenesis() -> None:
    for name in ("default", "seed2018"):
        listed = method_catalogue(spec(name))
        offered = [name for name in REGISTRY if name not in ENGINE_ONLY]
        assert [m.name for m in listed] == [*offered, MUTAGENESIS]
        assert all(m.exact for m in listed)
        refusing = {m.name for m in listed if not m.layers}
        assert refusing == {"occlusion", MUTAGENESIS}, "they perturb residues of the model input"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"head": "ss3", "i": 80, "class": "H"}, "out of range 0–69"),
        ({"head": "ss3", "i": 3}, "needs a class"),
        ({"head": "ss3", "i": -1, "class": "E"}, "out of range"),
        ({"head": "contact", "i": 3}, "needs j"),
        ({"head": "torsion", "i": 3}, "no head 'torsion'"),
        ({"layer": "trunk9", "channel": 0, "i": 1}, "no layer 'trunk9'"),
        ({"layer": "trunk2d.0.conv1", "channel": 64, "i": 1, "j": 2}, "out of range 0–63"),
        ({"head": "rsa", "i": "3"}, "0-based residue index"),
        ({"head": "rsa", "i": 3, "j": 4}, r"do not apply to it: \['j'\]"),
        ({"head": "rsa", "i": 3, "class": "H"}, r"do not apply to it: \['class'\]"),
        ({"head": "contact", "i": 3, "j": 9, "colour": "red"}, r"do not apply to it: \['colour'\]"),
        ({"layer": "trunk1d.0.conv1", "channel": 0, "i": 1, "j": 2}, "do not apply to it"),
    ],
)
def test_bad_targets(raw: dict, words: str) -> None:
    from foldlens.service import InvalidInputError

    with pytest.raises(InvalidInputError, match=words):
        check_target(raw, spec("default"), 70)


def test_explain_api_computes_then_caches(client: TestClient, job: dict) -> None:
    target = {"head": "dist_cb_cb", "i": 10, "j": 60}
    body = {"target": target, "methods": list(RULES), "wait": 0}
    first = client.post(f"/api/jobs/{job['id']}/explain", json=body)
    assert first.status_code in (200, 202)
    assert "Cβ_i–Cβ_j distance for i = " in first.json()["description"]
    results = finish(client, first.json())
    assert set(results) == set(RULES)
    for method in RULES:
        assert np.array(results[method]["attribution"]).shape == (41, job["length"])
        assert len(results[method]["residue_sum"]) == job["length"]
        assert results[method]["exact"]
    assert results["gradient"]["attribution"] != results["deconvnet"]["attribution"]
    again = client.post(f"/api/jobs/{job['id']}/explain", json=body)
    assert again.status_code == 200 and again.json()["task"] is None
    assert again.json()["results"] == results


@pytest.mark.parametrize(
    ("method", "options"),
    [("mutagenesis", {"window": 20}), ("integrated_gradients", {"steps": 256})],
)
def test_explain_api_cancel_stops_and_stores_nothing(
    client: TestClient, job: dict, method: str, options: dict
) -> None:
    body = {
        "target": {"head": "contact", "i": 5, "j": 70},
        "methods": [method],
        "options": {method: options},
        "wait": 0.3,
    }
    task = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"]
    wait_for(
        lambda: client.get(task["poll"]).json(),
        lambda status: status["states"][method] != "queued",
        f"the start of {method}",
    )
    client.delete(task["cancel"])
    # Had the cancel waited for the whole method, it would be done with every pass run.
    cancelled = finish_task(client, task)
    assert cancelled is not None
    assert cancelled["status"] == "cancelled" and cancelled["results"] == {}
    assert 0 <= cancelled["method_progress"][method] < 1
    again = client.post(f"/api/jobs/{job['id']}/explain", json={**body, "wait": 0})
    assert again.status_code == 202 and again.json()["results"] == {}
    assert again.json()["task"]["id"] == task["id"]
    assert again.json()["task"]["states"][method] in ("queued", "running")
    client.delete(again.json()["task"]["cancel"])


def test_a_shared_task_stops_only_when_every_requester_cancels(
    client: TestClient, job: dict
) -> None:
    """Two clients asking the same thing share one task but hold tickets of their own: the
    second cannot cancel it for the first, nor can anyone without a ticket."""
    body = {
        "target": {"head": "contact", "i": 6, "j": 60},
        "methods": ["integrated_gradients"],
        "options": {"integrated_gradients": {"steps": 256}},
        "wait": 0,
    }
    first = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"]
    second = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"]
    assert first["id"] == second["id"] and first["cancel"] != second["cancel"]
    bare = f"/api/explanations/{first['id']}"
    for forged in (bare, bare + "?ticket=guess"):
        refused = client.delete(forged)
        assert refused.status_code == 403 and "ticket" in refused.json()["detail"]
    task = client.app.state.explanations.task(first["id"])
    assert client.delete(second["cancel"]).status_code == 200
    assert not task.cancel.is_set()  # the first requester still wants it
    assert client.delete(second["cancel"]).status_code == 403  # a ticket is spent once
    polled = client.get(first["poll"]).json()
    assert polled["cancel"] == first["cancel"]  # the holder's links keep its ticket
    assert client.delete(first["cancel"]).status_code == 200
    assert task.cancel.is_set()
    finish_task(client, first)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"target": {**HELIX, "i": 999}, "methods": ["gradient"]}, 400, "out of range"),
        ({"target": HELIX, "methods": ["magic"]}, 400, "unknown method"),
        ({"target": HELIX, "methods": []}, 400, "give 1–"),
        (
            {
                "target": HELIX,
                "methods": ["smoothgrad"],
                "options": {"smoothgrad": {"samples": 1e9}},
            },
            400,
            "outside 1–128",
        ),
        (
            {
                "target": HELIX,
                "methods": ["smoothgrad"],
                "options": {"smoothgrad": {"base": "lrp"}},
            },
            400,
            "must be one of",
        ),
        (
            {"target": HELIX, "methods": ["occlusion"], "options": {"occlusion": {"size": 3}}},
            400,
            "no option size",
        ),
        (
            {"target": {"layer": "left", "channel": 0, "i": 1}, "methods": ["mutagenesis"]},
            400,
            "units",
        ),
        (
            {"target": HELIX, "methods": ["deeplift"], "options": {"deeplift": {"baseline": 1}}},
            400,
            "must be one of ['zero', 'average']",
        ),
        (
            {
                "target": HELIX,
                "methods": ["deeplift"],
                "options": {"deeplift": {"baseline": "average"}},
                "wrt": "trunk1d.2.conv1",
            },
            400,
            "is for the model input",
        ),
        ({"target": "ss3", "methods": ["gradient"]}, 422, "target"),
    ],
)
def test_explain_api_bad_requests(
    client: TestClient, job: dict, body: dict, status: int, words: str
) -> None:
    response = client.post(f"/api/jobs/{job['id']}/explain", json=body)
    assert response.status_code == status
    assert words in response.json()["detail"]


HOSTILE = [
    ('{"target": {"head": ["ss3"], "i": 1, "class": "H"}, "methods": ["gradient"]}', "no head"),
    ('{"target": {"head": {"a": 1}, "i": 1}, "methods": ["gradient"]}', "no head"),
    ('{"target": {"layer": ["trunk1d.0.conv1"], "channel": 0, "i": 1}, "methods": ["gradient"]}',
     "no layer"),
    ('{"target": {"head": "ss3", "i": 1, "class": ["H"]}, "methods": ["gradient"]}', "class"),
    ('{"target": {"head": "ss3", "i": 1.5, "class": "H"}, "methods": ["gradient"]}', "index"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": [["gradient"]]}', "methods"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": [{"m": 1}]}', "methods"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": ["smoothgrad"], '
     '"options": {"smoothgrad": [1]}}', "smoothgrad"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": ["smoothgrad"], '
     '"options": {"smoothgrad": {"samples": 1e999}}}', "finite"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": ["smoothgrad"], '
     '"options": {"smoothgrad": {"samples": NaN}}}', "finite"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": ["integrated_gradients"], '
     '"options": {"integrated_gradients": {"steps": -Infinity}}}', "finite"),
    ('{"target": {"head": "ss3", "i": 1, "class": "H"}, "methods": ["smoothgrad"], '
     '"options": {"smoothgrad": {"noise": Infinity}}}', "finite"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "words"), HOSTILE)
def test_explain_api_hostile_bodies_are_4xx_not_500(
    client: TestClient, job: dict, text: str, words: str
) -> None:
    """Values of the wrong JSON type or out of the number line: a readable 4xx (400 from the
    checks, 422 where the request schema already types the field), never a 500."""
    response = client.post(
        f"/api/jobs/{job['id']}/explain", content=text, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail


def test_explain_api_attributes_to_a_layer(client: TestClient, job: dict) -> None:
    """``wrt`` through the API: the L × L map of a 2D layer and channels × residues of a 1D
    layer, cached apart from the input attribution, with their exports; bad layers are 400."""
    import io

    length = job["length"]
    target = {"head": "dist_cb_cb", "i": 4, "j": 30}
    plain = {"target": target, "methods": ["gradient"]}
    base = finish(client, client.post(f"/api/jobs/{job['id']}/explain", json=plain).json())
    for layer, kind in (("trunk2d.2.conv1", "2d"), ("trunk1d.3.conv2", "1d")):
        body = {**plain, "wrt": layer}
        answer = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()
        assert "attributed to the input of layer " + layer in answer["description"]
        result = finish(client, answer)["gradient"]
        assert result["wrt"] == layer and result["wrt_kind"] == kind
        assert result["key"] != base["gradient"]["key"]
        if kind == "2d":
            pair = np.array(result["pair"])
            assert pair.shape == (length, length) and pair[4, 30] != 0 and pair[4, 70] == 0
            assert np.sum(result["residue_sum"]) == pytest.approx(pair.sum(), rel=1e-3, abs=1e-6)
        else:
            assert np.array(result["attribution"]).shape == (128, length)
        export = f"/api/explanations/results/{result['key']}/export"
        arrays = np.load(io.BytesIO(client.get(export, params={"what": "arrays"}).content))
        assert str(arrays["wrt"]) == layer
        figure = client.get(export, params={"what": "figure", "format": "png"})
        assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
        logo = client.get(export, params={"what": "logo"})
        assert logo.status_code == 404 and "layer" in logo.json()["detail"]
    for wrt, methods, words in (
        ("trunk9.conv", ["gradient"], "has no layer"),
        ("embed", ["occlusion"], "model input only"),
        ("ss3", ["gradient"], "does not depend"),
    ):
        body = {**plain, "wrt": wrt, "methods": methods}
        response = client.post(f"/api/jobs/{job['id']}/explain", json=body)
        if response.status_code == 400:
            assert words in response.json()["detail"]
        else:  # known only once the view runs: the method fails with the reason
            task = finish_task(client, response.json()["task"])
            assert task is not None
            assert task["states"][methods[0]] == "failed"
            assert words in task["messages"][methods[0]]


def test_explain_unknown_job_and_task(client: TestClient) -> None:
    body = {"target": {"head": "rsa", "i": 1}, "methods": ["gradient"]}
    assert client.post(f"/api/jobs/{'0' * 32}/explain", json=body).status_code == 404
    assert client.get("/api/explanations/nope").status_code == 404


def test_every_explanation_export_parses(client: TestClient, job: dict) -> None:
    import csv
    import io
    import json
    import xml.etree.ElementTree as ET

    from foldlens.protein.structure import read_structure

    body = {
        "target": {"head": "ss8", "i": 20, "class": "E"},
        "methods": ["guided_backprop", "mutagenesis"],
        "options": {"mutagenesis": {"window": 2}},
    }
    results = finish(client, client.post(f"/api/jobs/{job['id']}/explain", json=body).json())
    length = job["length"]
    for method, result in results.items():
        base = f"/api/explanations/results/{result['key']}/export"
        for fmt in ("png", "svg", "pdf"):
            for what in ("figure", "logo"):
                response = client.get(base, params={"what": what, "format": fmt})
                assert response.status_code == 200, response.text
                assert "attachment" in response.headers["content-disposition"]
                if fmt == "svg":
                    ET.fromstring(response.content)
                elif fmt == "pdf":
                    assert response.content.startswith(b"%PDF")
                else:
                    assert response.content.startswith(b"\x89PNG")
        arrays = np.load(
            io.BytesIO(client.get(base, params={"what": "arrays", "format": "npz"}).content)
        )
        assert arrays["residue_sum"].shape == (length,)
        np.testing.assert_allclose(arrays["residue_sum"], result["residue_sum"], rtol=1e-6)
        rows = list(
            csv.DictReader(
                io.StringIO(client.get(base, params={"what": "arrays", "format": "csv"}).text)
            )
        )
        assert len(rows) == length and float(rows[3]["sum"]) == pytest.approx(
            result["residue_sum"][3], rel=1e-4, abs=1e-9
        )
        document = json.loads(client.get(base, params={"what": "arrays", "format": "json"}).content)
        assert document["sequence"] == job["sequence"] and document["method"] == method
        pdb = read_structure(client.get(base, params={"what": "pdb"}).text)
        assert pdb.sequence == job["sequence"]
        script = client.get(base, params={"what": "pymol"}).text
        assert script.count(" and resi ") == length and "spectrum b" in script
        assert "read_pdbstr" in script  # the job has a structure: the script carries it
    assert "delta" in results["mutagenesis"] and "attribution" in results["guided_backprop"]
    assert (
        client.get(
            "/api/explanations/results/" + "f" * 64 + "/export", params={"what": "pdb"}
        ).status_code
        == 404
    )
    key = results["guided_backprop"]["key"]
    response = client.get(f"/api/explanations/results/{key}/export", params={"what": "movie"})
    assert response.status_code == 400 and "unknown export" in response.json()["detail"]


@pytest.mark.parametrize("method", ["gradient", "guided_backprop"])
def test_influence_matrix_rows_are_single_target_attributions(
    default_net: DefaultNet, method: str
) -> None:
    from foldlens.service.explain import influence_matrix

    inputs = random_input(50, seed=8, profile=False)
    x = inputs.x
    matrix = influence_matrix(default_net, adapter("default"), x, "ss8", 3, method)
    assert matrix.shape == (50, 50)
    for i in (0, 17, 49):
        target = full_model_value(default_net, OutputTarget("ss8", i, None, 3))
        row = fl.attribute(default_net, x, target, method=method)[0].sum(dim=0).numpy()
        np.testing.assert_allclose(matrix[i], row, atol=1e-5 * np.abs(row).max())


def test_overview_api(client: TestClient, job: dict) -> None:
    url = f"/api/jobs/{job['id']}/overview"
    answer = client.post(url, json={"head": "ss3", "class": "E", "method": "guided_backprop"})
    assert answer.status_code == 200, answer.text
    matrix = np.array(answer.json()["matrix"])
    assert matrix.shape == (job["length"], job["length"]) and answer.json()["class"] == "E"
    assert np.abs(np.diag(matrix)).mean() > np.abs(matrix).mean()
    with sqlite3.connect(client.app.state.service.store.path) as db:
        requests = [json.loads(r) for (r,) in db.execute("SELECT request FROM explanations")]
    assert {"overview": "ss3", "class": "E", "method": "guided_backprop"} in requests  # cached
    again = client.post(url, json={"head": "ss3", "class": "E", "method": "guided_backprop"})
    assert again.json() == answer.json()  # from the cache, time taken and all
    for body, words in [
        ({"head": "contact", "method": "gradient"}, "per-residue heads"),
        ({"head": "rsa", "method": "smoothgrad"}, "overview takes one of"),
        ({"head": "ss3", "method": "gradient"}, "needs a class"),
    ]:
        response = client.post(url, json=body)
        assert response.status_code == 400 and words in response.json()["detail"]


def test_long_polls_hold_no_thread_of_the_server(client: TestClient, job: dict) -> None:
    """More long polls than the server's thread pool has threads (40) all wait at once, and an
    ordinary request is answered while they still wait: a poll waits in the event loop."""
    body = {"target": {"head": "rsa", "i": 7}, "methods": ["smoothgrad"], "wait": 0}
    answer = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()
    if answer["task"] is not None:
        client.delete(answer["task"]["cancel"])
        finish_task(client, answer["task"])
    task = client.app.state.explanations.task(answer["task"]["id"])  # settled: no more changes
    polls = 45  # anyio gives the server's blocking routes 40 threads
    url = f"{answer['task']['poll']}&after={task.version}&wait=10"
    with ThreadPoolExecutor(polls) as pool:
        pending = [pool.submit(client.get, url) for _ in range(polls)]
        wait_for(lambda: len(task._waiters), lambda n: n == polls, "every poll waiting")
        assert client.get("/api/models").status_code == 200
        assert not any(poll.done() for poll in pending)  # answered while every poll waited
        assert all(poll.result().status_code == 200 for poll in pending)


def test_a_task_over_the_time_budget_fails_with_the_reason(tmp_path: Path) -> None:
    """The budget is checked before every pass, as a cancel is: a microsecond is spent before
    the first."""
    with TestClient(create_app(tmp_path, task_seconds=1e-6), base_url=LOCAL) as small:
        job = wait_job(
            small, small.post("/api/jobs", json={"sequence": "MKTAYIAKQRQISF"}).json()["id"]
        )
        body = {"target": {"head": "rsa", "i": 3}, "methods": ["smoothgrad", "gradient"]}
        task = finish_task(
            small, small.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"]
        )
        assert task is not None and task["status"] == "failed"
        assert set(task["states"].values()) == {"failed"}
        assert all("budget" in message for message in task["messages"].values())
    with pytest.raises(ValueError, match="must be positive"):
        create_app(tmp_path, task_seconds=0)


def test_settled_tasks_are_forgotten_beyond_a_bound(
    client: TestClient, job: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from foldlens.service import explanations

    monkeypatch.setattr(explanations, "KEPT_TASKS", 2)
    service = client.app.state.explanations
    for i in range(11, 16):
        body = {"target": {"head": "rsa", "i": i}, "methods": ["gradient"]}
        finish_task(client, client.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"])
    settled = [task for task in service._tasks.values() if task.finished.is_set()]
    assert len(settled) <= 2 + 1  # the bound, and the task settled after the last pruning


def test_an_overview_waits_in_the_queue_and_can_leave_it(client: TestClient, job: dict) -> None:
    """Overviews queue behind running tasks (one computation at a time); one whose client left
    before its turn is dropped, never computed or cached."""
    service = client.app.state.explanations
    body = {
        "target": {"head": "contact", "i": 9, "j": 66},
        "methods": ["integrated_gradients"],
        "options": {"integrated_gradients": {"steps": 256}},
        "wait": 0,
    }
    task = client.post(f"/api/jobs/{job['id']}/explain", json=body).json()["task"]
    wait_for(
        lambda: client.get(task["poll"]).json()["states"]["integrated_gradients"],
        lambda state: state == "running",
        "the long task",
    )
    overview, ticket = service.start(service.overview(job["id"], "rsa", None, "deconvnet"), set())
    assert overview.kind == "overview" and overview.states == {"deconvnet": "queued"}
    service.cancel(overview.id, ticket)  # its client leaves while it waits behind the task
    client.delete(task["cancel"])
    finish_task(client, task)
    assert overview.finished.wait(60) and overview.states == {"deconvnet": "cancelled"}
    with sqlite3.connect(client.app.state.service.store.path) as db:
        requests = [json.loads(r) for (r,) in db.execute("SELECT request FROM explanations")]
    assert {"overview": "rsa", "class": None, "method": "deconvnet"} not in requests
