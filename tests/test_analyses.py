"""Analyses of a target on the structure network: the API (catalogue, background task, cache,
cancel, exports, bad input), the served model left untouched, and the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from foldlens.cli import main
from foldlens.models import load
from polling import finish, finish_task, wait_job

HELIX = {"head": "ss3", "i": 20, "class": "H"}
PAIR = {"head": "dist_cb_cb", "i": 5, "j": 40}


def analyze(client: TestClient, job: dict, body: dict) -> tuple[dict, dict]:
    """Submit, poll the task to its end; the first answer and the final task status."""
    answer = client.post(f"/api/jobs/{job['id']}/analyze", json=body)
    assert answer.status_code in (200, 202), answer.text
    first = answer.json()
    return first, finish_task(client, first["task"]) or {}


def test_catalogue_lists_every_analysis_with_options(client: TestClient) -> None:
    listed = {a["name"]: a for a in client.get("/api/analyses").json()}
    assert set(listed) == {
        "randomization", "random_target", "deletion", "receptive_field",
        "follow_gradient", "input_correlation", "aa_patterns", "coevolution",
        "categorical_jacobian",
    }  # fmt: skip
    assert listed["randomization"]["options"]["mode"]["choices"] == ["cascade", "independent"]
    assert listed["deletion"]["outputs_only"] is True


def test_randomization_runs_in_the_background_then_comes_from_the_cache(
    client: TestClient, job: dict
) -> None:
    body = {"target": HELIX, "analysis": "randomization", "options": {"methods": ["gradient"]}}
    _, task = analyze(client, job, body)
    assert task["states"]["randomization"] == "done"
    result = client.get(task["results"]["randomization"]).json()
    layers = result["layers"]
    assert layers[0] == "ss3" and layers[-1] == "embed", "the heads ss8 and rsa do not make ss3"
    assert not any(name.startswith("trunk2d") for name in layers), "pair layers do not run"
    steps = result["similarities"]["gradient"]
    assert len(steps) == len(layers)
    assert steps[-1]["spearman_signed"] < 0.5, "random weights must change the signed gradient"
    assert result["verdicts"]["gradient"] in (
        "depends on the weights", "partly", "barely changes",
    )  # fmt: skip
    shipped = load("default").state_dict()
    served = client.app.state.explanations.models.copies("default")
    assert served, "the explanation worker ran a network of its own"
    for model in served:
        for name, value in model.state_dict().items():
            assert torch.equal(value, shipped[name]), f"the served model changed at {name}"
    again = client.post(f"/api/jobs/{job['id']}/analyze", json=body)
    assert again.status_code == 200 and again.json()["task"] is None
    assert again.json()["result"]["similarities"] == result["similarities"]
    export = f"/api/explanations/results/{result['key']}/export"
    png = client.get(export, params={"what": "figure", "format": "png"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    document = json.loads(client.get(export, params={"what": "json"}).content)
    assert document["verdicts"] == result["verdicts"] and "3-state" in document["description"]


def test_lrp_through_the_api_and_its_analyses(client: TestClient, job: dict) -> None:
    """LRP is offered with its composites; a contact logit is exact, an expected distance (a
    softmax readout, which LRP has no rule for) says so; a layer's input refuses first-layer
    rules; the randomization test takes every composite."""
    for model in client.get("/api/models").json():
        lrp = {m["name"]: m for m in model["methods"]}["lrp"]
        assert lrp["exact"] is (model["name"] in ("default", "seed2018")), model["name"]
        assert "epsilon_gamma_box" in lrp["options"]["composite"]["choices"]
    explain = f"/api/jobs/{job['id']}/explain"
    for head, exact in (("contact", True), ("dist_cb_cb", False)):
        body = {"target": {**PAIR, "head": head}, "methods": ["lrp"]}
        found = finish(client, client.post(explain, json=body).json())["lrp"]
        assert found["exact"] is exact and ("softmax" in found["approximation"]) is not exact
    body = {
        "target": HELIX, "methods": ["lrp"], "wrt": "trunk1d.2.conv1",
        "options": {"lrp": {"composite": "epsilon_gamma_box"}},
    }  # fmt: skip
    refused = client.post(explain, json=body)
    assert refused.status_code == 400 and "without _flat or _box" in refused.json()["detail"]
    options = {"methods": ["lrp", "gradient"]}
    body = {"target": HELIX, "analysis": "randomization", "options": options}
    _, task = analyze(client, job, body)
    assert task["states"]["randomization"] == "done", task["messages"]
    randomized = client.get(task["results"]["randomization"]).json()
    assert set(randomized["verdicts"]) == {"lrp", "gradient"}


def test_deeplift_through_the_api_and_its_analyses(client: TestClient, job: dict) -> None:
    """DeepLIFT is offered, explains a distance cell against the average residue exactly (its
    map sums to the change from the reference), and the randomization and deletion analyses
    take it like the other methods."""
    for model in client.get("/api/models").json():  # reprof's sigmoids have rules too
        deeplift = {m["name"]: m for m in model["methods"]}["deeplift"]
        assert deeplift["exact"] is (model["name"] != "predictdssp"), model["name"]
        assert deeplift["options"]["baseline"]["choices"] == ["zero", "average"]
    options = {"deeplift": {"baseline": "average"}}
    body = {"target": PAIR, "methods": ["deeplift"], "options": options}
    result = finish(client, client.post(f"/api/jobs/{job['id']}/explain", json=body).json())
    found = result["deeplift"]
    assert found["exact"] and found["approximation"] == ""
    change = found["value"] - found["reference_value"]
    assert found["map_sum"] == pytest.approx(change, abs=1e-4 * max(1, abs(change)))
    assert np.sum(found["attribution"]) == pytest.approx(found["map_sum"], rel=1e-3, abs=1e-4)
    body = {"target": HELIX, "analysis": "randomization", "options": {"methods": ["deeplift"]}}
    _, task = analyze(client, job, body)
    assert task["states"]["randomization"] == "done", task["messages"]
    randomized = client.get(task["results"]["randomization"]).json()
    assert len(randomized["similarities"]["deeplift"]) == len(randomized["layers"])
    assert "deeplift" in randomized["verdicts"]
    body = {"target": HELIX, "analysis": "deletion", "options": {"method": "deeplift", "steps": 5}}
    _, task = analyze(client, job, body)
    assert task["states"]["deletion"] == "done", task["messages"]
    assert len(client.get(task["results"]["deletion"]).json()["deletion"]["values"]) == 5


@pytest.mark.parametrize(
    ("analysis", "options", "check"),
    [
        ("deletion", {"steps": 5, "random_orders": 2}, "deletion"),
        ("follow_gradient", {"points": 5}, "epsilons"),
        ("receptive_field", {}, "theoretical_radius"),
        ("input_correlation", {"methods": ["gradient", "guided_backprop"]}, "correlation"),
        ("aa_patterns", {"pairs": 3}, "pair_table"),
        ("random_target", {"targets": 2, "methods": ["gradient"]}, "similarities"),
    ],
)
def test_each_analysis_of_a_pair_target(
    client: TestClient, job: dict, analysis: str, options: dict, check: str
) -> None:
    _, task = analyze(client, job, {"target": PAIR, "analysis": analysis, "options": options})
    assert task["states"][analysis] == "done", task["messages"]
    result = client.get(task["results"][analysis]).json()
    assert check in result and result["analysis"] == analysis
    if analysis == "deletion":
        assert len(result["deletion"]["values"]) == 5 and result["deletion"]["fractions"][-1] == 1
    if analysis == "follow_gradient":
        middle = len(result["epsilons"]) // 2
        assert result["epsilons"][middle] == 0
        assert result["values"][middle] == pytest.approx(result["value"], abs=1e-4)
    if analysis == "aa_patterns":
        assert len(result["pairs"]) == 3 and np.array(result["pair_table"]["gradient"]).shape == (
            20,
            20,
        )
    if analysis == "receptive_field":
        assert result["theoretical_radius"] == 180 and result["distances"][0] == 0


def test_deletion_steps_beyond_the_length_give_one_point_per_residue_count(
    client: TestClient, job: dict
) -> None:
    options = {"steps": 101, "random_orders": 1}
    _, task = analyze(client, job, {"target": HELIX, "analysis": "deletion", "options": options})
    result = client.get(task["results"]["deletion"]).json()
    assert len(result["deletion"]["fractions"]) == job["length"] + 1


def test_a_cancelled_analysis_leaves_nothing_in_the_cache(client: TestClient, job: dict) -> None:
    body = {
        "target": {"head": "contact", "i": 3, "j": 60},
        "analysis": "deletion",
        "options": {"steps": 101, "random_orders": 16},
        "wait": 0.2,
    }
    answer = client.post(f"/api/jobs/{job['id']}/analyze", json=body).json()
    client.delete(answer["task"]["cancel"])
    cancelled = finish_task(client, answer["task"])
    assert cancelled is not None
    assert cancelled["status"] == "cancelled" and cancelled["results"] == {}
    again = client.post(f"/api/jobs/{job['id']}/analyze", json={**body, "wait": 0})
    assert again.status_code == 202 and again.json()["result"] is None
    client.delete(again.json()["task"]["cancel"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"target": HELIX, "analysis": "astrology"}, "unknown analysis"),
        ({"target": HELIX, "analysis": "deletion", "options": {"steps": 1000}}, "outside 3–101"),
        ({"target": HELIX, "analysis": "deletion", "options": {"window": 3}}, "no option window"),
        (
            {"target": HELIX, "analysis": "randomization", "options": {"methods": "gradient"}},
            "must list",
        ),
        (
            {"target": HELIX, "analysis": "randomization", "options": {"methods": ["occlusion"]}},
            "must list",
        ),
        (
            {"target": HELIX, "analysis": "randomization", "options": {"mode": "sideways"}},
            "must be one of",
        ),
        ({"target": HELIX, "analysis": "follow_gradient", "options": {"points": 4}}, "odd"),
        (
            {"target": {"layer": "embed", "channel": 1, "i": 3}, "analysis": "deletion"},
            "not an internal unit",
        ),
        ({"target": {**HELIX, "i": 10_000}, "analysis": "receptive_field"}, "out of range"),
        (
            {"target": HELIX, "analysis": "randomization", "options": {"methods": [["gradient"]]}},
            "must list",
        ),
        (
            {"target": HELIX, "analysis": "randomization", "options": {"methods": [{"a": 1}]}},
            "must list",
        ),
        ({"target": {"head": ["ss3"], "i": 1}, "analysis": "receptive_field"}, "no head"),
    ],
)
def test_bad_analysis_requests(client: TestClient, job: dict, body: dict, words: str) -> None:
    response = client.post(f"/api/jobs/{job['id']}/analyze", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]


def test_analyze_command_writes_json_and_figures(tmp_path: Path) -> None:
    code = main(
        ["analyze", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKV",
         "--target", "rsa@12", "--analysis", "randomization", "follow_gradient",
         "--options", '{"randomization": {"methods": ["guided_backprop"]}}',
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "query-randomization.json").read_text())
    assert set(result["verdicts"]) == {"guided_backprop"}
    for name in ("randomization", "follow_gradient"):
        assert (tmp_path / f"query-{name}.png").read_bytes().startswith(b"\x89PNG")
        assert (tmp_path / f"query-{name}.pdf").read_bytes().startswith(b"%PDF")


def test_aa_patterns_over_the_test_split(tmp_path: Path) -> None:
    code = main(
        ["aa-patterns", "--target", "contact", "--proteins", "2", "--targets", "2",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "test-split-aa_patterns.json").read_text())
    assert result["proteins"] == 2 and sum(result["counts"]) > 0
    table = np.array(result["pair_table"]["gradient"], dtype=float)
    assert table.shape == (20, 20) and np.isfinite(table).sum() >= 2
    np.testing.assert_array_equal(np.isfinite(table), np.isfinite(table.T))
    assert io.BytesIO((tmp_path / "test-split-aa_patterns.png").read_bytes()).read(4) == b"\x89PNG"


def test_coevolution_analysis_of_a_job_with_an_msa(client: TestClient) -> None:
    """A job uploaded with an MSA (60 residues, 120 rows mutated from the query): the target's
    attribution to the pair features against the MSA's couplings, with the correlation checked
    against scipy on the returned pairs and Neff against the couplings computed here."""
    from scipy.stats import spearmanr

    from foldlens.coevolution import couplings
    from foldlens.protein.alphabet import AMINO_ACIDS
    from foldlens.protein.msa import parse_msa

    rng = np.random.default_rng(7)
    query = "".join(rng.choice(list(AMINO_ACIDS), 60))
    rows = [query]
    for _ in range(119):
        row = list(query)
        for k in rng.choice(60, 20, replace=False):
            row[k] = str(rng.choice([*list(AMINO_ACIDS), "-"]))
        rows.append("".join(row))
    msa = "".join(f">r{k}\n{row}\n" for k, row in enumerate(rows))
    submitted = client.post("/api/jobs", data={"model": "seed2018"}, files={"msa": ("f.a3m", msa)})
    job = wait_job(client, submitted.json()["id"])
    assert job["status"] == "done"
    body = {"target": {"head": "dist_cb_cb", "i": 10, "j": 40}, "analysis": "coevolution"}
    _, task = analyze(client, job, body)
    assert task["states"]["coevolution"] == "done", task
    result = client.get(task["results"]["coevolution"]).json()
    assert result["layer"] == "conv1" and result["method"] == "gradient"
    assert result["cells"] == len(result["attribution"]) == len(result["coupling"]) > 10
    expected = spearmanr(result["attribution"], result["coupling"]).statistic
    assert result["spearman"] == pytest.approx(expected, abs=1e-3)  # of the rounded values
    assert result["neff"] == pytest.approx(couplings(parse_msa(msa)).neff)
    assert len(result["top_cells"]) == 10


def test_coevolution_analysis_needs_an_msa(client: TestClient, job: dict) -> None:
    body = {"target": PAIR, "analysis": "coevolution"}
    _, task = analyze(client, job, body)
    assert task["states"]["coevolution"] == "failed"
    assert "no MSA" in task["messages"]["coevolution"]
    per_residue = client.post(
        f"/api/jobs/{job['id']}/analyze", json={"target": HELIX, "analysis": "coevolution"}
    )
    assert per_residue.status_code == 400 and "pair output" in per_residue.json()["detail"]
