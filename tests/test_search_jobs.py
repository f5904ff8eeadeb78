"""Jobs that search for their MSA: the stages (search → couplings → prediction), the prediction
mode the MSA's depth leads to, what the status, downloads and analyses show, and the refusals.

The servers here search FASTA databases written by the tests — copies of a real protein (example
2o38B) with known changes among random decoys — so each test knows how deep its MSA must be;
one test searches the shipped default database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from foldlens.coevolution.couplings import Couplings
from foldlens.models import load
from foldlens.predict import from_npz, predict
from foldlens.protein.msa import parse_msa
from foldlens.protein.record import Protein
from foldlens.search import database as databases
from foldlens.search.database import find_database
from foldlens.search.depth import NEFF_THRESHOLD
from foldlens.server import create_app
from foldlens.service.alignment_stages import SearchSettings, search_settings
from foldlens.service.examples import example
from polling import LOCAL, finish_task, wait_job
from test_search import mutated, random_sequence

QUERY = example("2o38B").sequence


def family_database(folder: Path, homologs: int) -> Path:
    """``homologs`` copies of the query with 15–45 % of residues changed (distinct beyond 80 %
    identity, so each weighs about 1 in Neff), and 200 random decoys."""
    rng = np.random.default_rng(homologs)
    records = {
        f"homolog{k}": mutated(rng, QUERY, 0.15 + 0.3 * k / homologs) for k in range(homologs)
    }
    records |= {f"decoy{k}": random_sequence(rng, len(QUERY)) for k in range(200)}
    path = folder / f"family{homologs}.fasta"
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))
    return path


def serving(folder: Path, database: Path) -> TestClient:
    settings = SearchSettings(find_database(database), cache=folder / "search")
    return TestClient(create_app(folder / "app", search=settings), base_url=LOCAL)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server whose database holds 40 homologs of the query: a deep enough MSA."""
    folder = tmp_path_factory.mktemp("deep")
    with serving(folder, family_database(folder, 40)) as client:
        yield client


@pytest.fixture(scope="module")
def searched(client: TestClient) -> dict:
    answer = client.post("/api/jobs", json={"sequence": QUERY, "search": True})
    assert answer.status_code == 202, answer.text
    job = wait_job(client, answer.json()["id"])
    assert job["status"] == "done", job
    return job


def predictions(client: TestClient, job: dict) -> dict:
    return from_npz(client.get(f"/api/jobs/{job['id']}/predictions?format=npz").content)


def test_a_deep_search_predicts_from_its_profile(client: TestClient, searched: dict) -> None:
    alignment = searched["alignment"]
    assert searched["search"] and alignment["source"] == "search"
    assert alignment["converged"] and alignment["sequences"] >= 30
    assert (
        alignment["neff"] >= NEFF_THRESHOLD and alignment["mode"] == searched["mode"] == "profile"
    )
    assert len(alignment["coverage"]) == len(QUERY) and min(alignment["coverage"]) > 0.5
    assert alignment["database"] == str(client.app.state.service.search.database.name)
    assert alignment["couplings"]["fitted"] and alignment["couplings"]["sequences"] >= 30
    a3m = client.get(f"/api/jobs/{searched['id']}/export?what=msa&format=a3m")
    assert a3m.status_code == 200
    msa = parse_msa(a3m.text)
    assert msa.query == QUERY and len(msa.rows) == alignment["sequences"]
    model = load("default")
    expected = predict(model, Protein(QUERY, msa.profile()), "default")
    alone = predict(model, Protein(QUERY), "default")
    got = predictions(client, searched)
    np.testing.assert_allclose(got["ss3"], expected["ss3"], atol=1e-5)
    assert np.abs(np.asarray(alone["ss3"]) - np.asarray(expected["ss3"])).max() > 0.05


def test_the_job_offers_its_msa_search_and_couplings(client: TestClient, searched: dict) -> None:
    offered = {(e["what"], e["format"]) for e in searched["exports"]}
    assert {
        ("msa", "a3m"),
        ("search", "json"),
        ("couplings", "npz"),
        ("couplings", "png"),
    } <= offered
    base = f"/api/jobs/{searched['id']}/export"
    summary = client.get(f"{base}?what=search&format=json").json()
    assert summary["neff"] == searched["alignment"]["neff"]
    assert summary["parameters"] == {"iterations": 20, "evalue": 1e-3, "coverage": 0.5}
    found = Couplings.from_npz(client.get(f"{base}?what=couplings&format=npz").content)
    assert found.apc.shape == (len(QUERY), len(QUERY)) and np.allclose(found.apc, found.apc.T)
    assert client.get(f"{base}?what=couplings&format=png").content.startswith(b"\x89PNG")


def test_the_search_flag_makes_another_job(client: TestClient, searched: dict) -> None:
    plain = client.post("/api/jobs", json={"sequence": QUERY}).json()
    assert plain["id"] != searched["id"] and not plain["search"]
    again = client.post("/api/jobs", json={"sequence": QUERY, "search": True})
    assert again.status_code == 200 and again.json()["id"] == searched["id"]
    wait_job(client, plain["id"])


def test_the_coevolution_analysis_reads_the_jobs_couplings(
    client: TestClient, searched: dict
) -> None:
    """The analysis compares with the couplings the job stored (the same fit, not a new one)."""
    stored = client.get(f"/api/jobs/{searched['id']}/export?what=couplings&format=npz").content
    body = {"target": {"head": "dist_cb_cb", "i": 10, "j": 60}, "analysis": "coevolution"}
    answer = client.post(f"/api/jobs/{searched['id']}/analyze", json=body)
    assert answer.status_code in (200, 202), answer.text
    task = finish_task(client, answer.json()["task"]) or {}
    assert task["states"]["coevolution"] == "done", task
    result = client.get(task["results"]["coevolution"]).json()
    assert result["neff"] == Couplings.from_npz(stored).neff
    assert result["sequences"] == searched["alignment"]["couplings"]["sequences"]


def test_a_shallow_search_predicts_from_the_sequence_alone(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, family_database(tmp_path, 3)) as client:
        job = wait_job(
            client, client.post("/api/jobs", json={"sequence": QUERY, "search": True}).json()["id"]
        )
        alignment = job["alignment"]
        assert job["status"] == "done" and alignment["neff"] < NEFF_THRESHOLD
        assert job["mode"] == alignment["mode"] == "single"
        assert "single-sequence and therefore weaker" in alignment["why"]
        alone = predict(load("default"), Protein(QUERY), "default")
        np.testing.assert_allclose(predictions(client, job)["ss3"], alone["ss3"], atol=1e-5)


def test_search_is_refused_where_it_cannot_apply(client: TestClient, tmp_path: Path) -> None:
    with_example = client.post("/api/jobs", json={"example": "2o38B", "search": True})
    assert with_example.status_code == 400 and "profile already" in with_example.json()["detail"]
    msa = f">q\n{QUERY}\n>h\n{mutated(np.random.default_rng(1), QUERY, 0.3)}\n"
    form = client.post("/api/jobs", data={"search": "true"}, files={"msa": ("q.a3m", msa)})
    assert form.status_code == 400 and "MSA already" in form.json()["detail"]
    without = SearchSettings(None, "no database here")
    with TestClient(create_app(tmp_path / "app", search=without), base_url=LOCAL) as bare:
        assert bare.get("/api/search").json()["available"] is False
        refused = bare.post("/api/jobs", json={"sequence": QUERY, "search": True})
        assert refused.status_code == 400 and "no database here" in refused.json()["detail"]
    with pytest.raises(ValueError, match="no sequence database"):
        search_settings(str(tmp_path / "nowhere.fasta"), tmp_path)


def test_an_uploaded_msa_gets_its_depth_and_couplings(client: TestClient) -> None:
    rng = np.random.default_rng(2)
    rows = [QUERY] + [mutated(rng, QUERY, 0.3) for _ in range(12)]
    text = "".join(f">r{k}\n{row}\n" for k, row in enumerate(rows))
    job = wait_job(client, client.post("/api/jobs", files={"msa": ("a.a3m", text)}).json()["id"])
    alignment = job["alignment"]
    assert job["status"] == "done" and not job["search"] and alignment["source"] == "upload"
    assert alignment["sequences"] == 13 and alignment["mode"] == job["mode"] == "profile"
    assert alignment["couplings"]["fitted"]
    offered = {(e["what"], e["format"]) for e in job["exports"]}
    assert ("couplings", "npz") in offered and ("msa", "a3m") not in offered


@pytest.mark.skipif(
    not databases.UNIPROT_EXAMPLES.is_file(), reason="needs Debian's mmseqs2-examples (make system)"
)
def test_the_default_database_serves_searches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOLDLENS_SEQDB", raising=False)
    settings = search_settings(None, tmp_path / "search")
    with TestClient(create_app(tmp_path / "app", search=settings), base_url=LOCAL) as client:
        info = client.get("/api/search").json()
        assert info["available"] and info["database"].startswith("default")
        assert "UniRef" in info["note"] and info["neff_threshold"] == NEFF_THRESHOLD
        job = wait_job(
            client, client.post("/api/jobs", json={"sequence": QUERY, "search": True}).json()["id"]
        )
        assert job["status"] == "done" and job["alignment"]["note"] == info["note"]
        a3m = client.get(f"/api/jobs/{job['id']}/export?what=msa&format=a3m").text
        assert a3m.startswith(">") and parse_msa(a3m).query == QUERY


def test_predict_searches_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``foldlens predict --search``: the MSA and the search's summary beside the predictions,
    which come from the MSA's profile (deep) or the sequence alone (shallow)."""
    from foldlens.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for homologs, mode in ((40, "profile"), (3, "single")):
        database, out = family_database(tmp_path, homologs), tmp_path / f"out{homologs}"
        command = ["predict", QUERY, "--out", str(out), "--search", "--db", str(database)]
        assert main(command) == 0
        summary = json.loads((out / "search.json").read_text())
        assert summary["mode"] == mode and summary["why"] in capsys.readouterr().out
        msa = parse_msa((out / "msa.a3m").read_text())
        profile = msa.profile() if mode == "profile" else None
        expected = predict(load("default"), Protein(QUERY, profile), "default")
        got = from_npz((out / "predictions.npz").read_bytes())
        np.testing.assert_allclose(got["ss3"], expected["ss3"], atol=1e-5)


def test_a_model_that_reads_no_profile_says_so(client: TestClient) -> None:
    """An MSA uploaded for reprof (one-hot input): its depth and couplings are shown, and the
    mode is single sequence with the reason."""
    from foldlens.models import available

    if "reprof" not in available():
        pytest.skip("reprof is not installed here (make system)")
    rng = np.random.default_rng(4)
    rows = [QUERY] + [mutated(rng, QUERY, 0.3) for _ in range(6)]
    text = "".join(f">r{k}\n{row}\n" for k, row in enumerate(rows))
    answer = client.post("/api/jobs", data={"model": "reprof"}, files={"msa": ("a.a3m", text)})
    job = wait_job(client, answer.json()["id"])
    assert job["status"] == "done" and job["mode"] == job["alignment"]["mode"] == "single"
    assert "reads no profile" in job["alignment"]["why"]


@pytest.mark.skipif(
    not databases.UNIPROT_EXAMPLES.is_file(), reason="needs Debian's mmseqs2-examples (make system)"
)
def test_evaluate_with_searched_msas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``foldlens evaluate --search`` on four training chains of the shipped fixture: the searched
    and DCA modes, the product's rule built chain by chain from the searched and single modes,
    the depths, and the searches leaving out each chain's own cluster."""
    from foldlens.cli import main
    from foldlens.data.chains import ChainSet
    from foldlens.protein.labels import SS8_TO_SS3
    from foldlens.search.database import find_database, same_cluster
    from foldlens.search.evaluation import searched_msas
    from foldlens.search.result import SearchParameters

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fixture = Path(__file__).parents[1] / "src" / "foldlens" / "resources" / "fixture.npz"
    chains = ChainSet.load(fixture).subset(np.arange(4))
    path = tmp_path / "four.npz"
    chains.save(path)
    out = tmp_path / "report.json"
    command = ["evaluate", "--chains", str(path), "--search", "--no-baselines", "--resamples",
               "20", "--json", str(out), "--plot", str(tmp_path / "depth.png")]  # fmt: skip
    assert main(command) == 0
    report = json.loads(out.read_text())
    rule = "searched if Neff ≥ 5"
    assert set(report["modes"]) == {"profile", "single", "searched", "dca", rule}
    assert "Q3" not in report["modes"]["dca"]
    assert 0 <= report["modes"]["dca"]["contact precision top-L/5 >=24"]["value"] <= 1
    assert sum(row["chains"] for row in report["by_depth"]) == 4
    assert (tmp_path / "depth.png").read_bytes().startswith(b"\x89PNG")
    msas = searched_msas(chains, find_database("default"), SearchParameters(), None)
    correct = total = 0
    model = load("default")
    for k, msa in enumerate(msas):
        chain = chains[k]
        names = {row_name.split("/")[0] for row_name in msa.alignment.ids[1:]}
        assert not names & same_cluster(chain.chain_id)
        profile = msa.profile() if msa.neff >= 5 else None
        ss3 = np.asarray(predict(model, Protein(chain.sequence, profile), "default")["ss3"])
        correct += int((ss3.argmax(1) == SS8_TO_SS3[chain.ss8]).sum())
        total += len(chain)
    assert report["modes"][rule]["Q3"]["value"] == pytest.approx(correct / total, abs=1e-12)
