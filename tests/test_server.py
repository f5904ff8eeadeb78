"""The web API through HTTP (FastAPI's TestClient runs the real app, worker and SQLite store)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from downloads import parse_file
from foldlens.models import load, spec, version
from foldlens.predict import Query, predict
from foldlens.protein.msa import parse_msa
from foldlens.protein.structure import read_structure
from foldlens.server import create_app
from foldlens.service import JobStore
from foldlens.service.examples import examples
from foldlens.service.explain import OVERVIEW_METHODS
from foldlens.service.store import MAX_ATTEMPTS
from polling import DEADLINE, LOCAL, wait_for, wait_job
from schema import SCHEMA

DATA = Path(__file__).parent / "data"
WATER_ONLY = "HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00           O\nEND\n"
SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data_dir), base_url=LOCAL) as client:
        yield client


@pytest.fixture(scope="module")
def example_job(client: TestClient) -> dict:
    first = next(iter(examples()))
    response = client.post("/api/jobs", json={"example": first})
    assert response.status_code in (200, 202)
    return wait_job(client, response.json()["id"])


def test_models_and_examples(client: TestClient) -> None:
    models = client.get("/api/models").json()
    assert [m["name"] for m in models] == ["default", "seed2018", "reprof", "predictdssp"]
    assert [m["default"] for m in models] == [True, False, False, False]
    assert models[0]["version"] == version("default")
    assert models[0]["spec"] == spec("default").to_json()
    assert models[0]["overview_methods"] == list(OVERVIEW_METHODS)
    assert {m["name"] for m in models[0]["methods"] if not m["layers"]} == {
        "occlusion",
        "mutagenesis",
    }
    listed = client.get("/api/examples").json()
    assert [e["id"] for e in listed] == list(examples())
    assert all(e["length"] == len(e["sequence"]) and e["has_structure"] for e in listed)


def test_sequence_job_matches_the_model_and_is_found_again(client: TestClient) -> None:
    response = client.post("/api/jobs", json={"sequence": f">my protein\n{SEQUENCE}\n"})
    assert response.status_code == 202
    job_id, submission = response.json()["id"], response.json()["submission"]
    assert response.json()["name"] == "my" and response.json()["token"]
    assert response.json()["view"] == f"/view/{job_id}?submission={submission}"
    status = wait_job(client, job_id)
    assert status["status"] == "done" and status["progress"] == 1
    assert status["mode"] == "single" and not status["has_structure"]
    assert status["name"] == "query" and status["created"] is None  # no submission named
    assert status["token"] is None
    again = client.post("/api/jobs", json={"sequence": SEQUENCE.lower()})
    assert again.status_code == 200 and again.json()["id"] == job_id

    document = client.get(f"/api/jobs/{job_id}/predictions").json()
    assert set(document) == set(SCHEMA)
    arrays = np.load(io.BytesIO(client.get(f"/api/jobs/{job_id}/predictions?format=npz").content))
    expected = predict(load("default"), Query("q", SEQUENCE), "default")
    for key in SCHEMA[2:]:
        np.testing.assert_allclose(arrays[key], expected[key], atol=1e-5)
        np.testing.assert_allclose(np.array(document[key]), expected[key], atol=1e-4)


def test_other_model_and_other_version_make_other_jobs(client: TestClient) -> None:
    default = client.post("/api/jobs", json={"sequence": SEQUENCE}).json()
    seed = client.post("/api/jobs", json={"sequence": SEQUENCE, "model": "seed2018"}).json()
    assert default["id"] != seed["id"] and seed["model_version"] == version("seed2018")
    status = wait_job(client, seed["id"])
    assert status["status"] == "done" and status["tracks"] == []
    document = client.get(f"/api/jobs/{seed['id']}/predictions").json()
    assert set(document) == {
        "sequence",
        "mode",
        "dist_ca_ca",
        "dist_ca_cb",
        "dist_cb_ca",
        "dist_cb_cb",
    }
    assert {(e["what"], e["format"]) for e in status["exports"]} >= {("distance_maps", "svg")}


def test_example_job_has_truth_and_structure(client: TestClient, example_job: dict) -> None:
    assert example_job["status"] == "done"
    assert example_job["mode"] == "profile" and example_job["has_structure"]
    job_id, length = example_job["id"], example_job["length"]
    truth = client.get(f"/api/jobs/{job_id}/truth").json()
    assert truth["dssp"] == examples()[example_job["name"]].dssp
    contact = np.array(truth["contact"])
    assert contact.shape == (length, length) and set(np.unique(contact)) <= {0, 1}
    np.testing.assert_array_equal(contact, np.array(truth["dist_cb_cb"]) < 8)
    backbone = read_structure(client.get(f"/api/jobs/{job_id}/structure").text)
    assert backbone.sequence == example_job["sequence"]


def test_the_schema_documents_found_jobs_and_refusals(client: TestClient) -> None:
    submit = client.get("/openapi.json").json()["paths"]["/api/jobs"]["post"]["responses"]
    assert {"200", "202", "400", "403", "413", "415", "422"} <= set(submit)
    assert "submitted before" in submit["200"]["description"]


def test_every_download_parses(client: TestClient, example_job: dict) -> None:
    job_id, length, sequence = example_job["id"], example_job["length"], example_job["sequence"]
    predictions = np.load(
        io.BytesIO(client.get(f"/api/jobs/{job_id}/predictions?format=npz").content)
    )
    formats = {(e["what"], e["format"]) for e in example_job["exports"]}
    assert formats >= {
        ("predictions", "npz"),
        ("predictions", "json"),
        ("residues", "csv"),
        ("pairs", "csv"),
        ("distance_maps", "png"),
        ("distance_maps", "svg"),
        ("distance_maps", "pdf"),
        ("contact", "png"),
        ("tracks", "pdf"),
        ("structure", "pdb"),
    }
    documented = client.get("/openapi.json").json()["paths"]["/api/jobs/{job_id}/export"]
    media_types = set(documented["get"]["responses"]["200"]["content"])
    for item in example_job["exports"]:
        response = client.get(item["url"])
        assert response.status_code == 200, item
        assert "attachment" in response.headers["content-disposition"]
        assert response.headers["content-type"].split(";")[0] in media_types, item
        parsed = parse_file(response.content, item["format"])
        if item["what"] == "predictions":
            assert set(parsed) == set(SCHEMA)  # type: ignore[arg-type]
        elif item["what"] == "residues":
            assert [row["residue"] for row in parsed] == list(sequence)  # type: ignore[union-attr]
            rsa = [float(row["rsa"]) for row in parsed]  # type: ignore[union-attr]
            np.testing.assert_allclose(rsa, predictions["rsa"], atol=1e-4)
        elif item["what"] == "pairs":
            assert len(parsed) == length * (length - 1) // 2  # type: ignore[arg-type]
            row = parsed[7]  # type: ignore[index]
            i, j = int(row["i"]) - 1, int(row["j"]) - 1
            assert float(row["dist_ca_cb"]) == pytest.approx(
                predictions["dist_ca_cb"][i, j], abs=1e-4
            )
        elif item["what"] == "structure":
            assert parsed.sequence == sequence  # type: ignore[attr-defined]
            bfactors = [
                float(line[60:66])
                for line in response.text.splitlines()
                if line.startswith("ATOM") and line[12:16].strip() == "CA"
            ]
            head, _, state = item["track"].partition("_")
            values = (
                predictions[head][:, spec().head(head).classes.index(state)]
                if state
                else predictions[head]
            )
            np.testing.assert_allclose(bfactors, values, atol=0.006)
        elif item["format"] == "png":
            assert parsed.ndim == 3 and parsed.std() > 0.05  # type: ignore[attr-defined]


def test_uploads_msa_and_structure(client: TestClient) -> None:
    msa = (DATA / "globins4.sto").read_text()
    response = client.post(
        "/api/jobs", data={"model": "default"}, files={"msa": ("globins4.sto", msa)}
    )
    assert response.status_code == 202, response.text
    assert response.json()["name"] == "HBB_HUMAN"
    status = wait_job(client, response.json()["id"])
    assert status["status"] == "done" and status["mode"] == "profile"
    assert status["sequence"] == parse_msa(msa).query

    example = next(iter(examples().values()))
    pdb = example.structure()
    response = client.post("/api/jobs", files={"structure": ("mine.pdb", pdb)})
    assert response.json()["name"] == f"mine_{example.id[-1]}"
    status = wait_job(client, response.json()["id"])
    assert status["has_structure"] and status["mode"] == "single"
    assert len(client.get(f"/api/jobs/{status['id']}/truth").json()["dssp"]) == status["length"]


def test_a_genbank_numbered_paste_keeps_the_submitters_name(client: TestClient) -> None:
    pasted = ">my_kinase fragment\n        1 mktayiakqr qisfvkshfs\n       21 rqleerlg\n"
    response = client.post("/api/jobs", json={"sequence": pasted})
    assert response.status_code in (200, 202), response.text
    job = response.json()
    assert job["name"] == "my_kinase" and job["length"] == 28


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"sequence": "MKTAYBIAK"}, "'B' at position 6: ambiguous (D or N)"),
        ({"sequence": "MKTAYXIAK"}, "'X' at position 6: an unknown amino acid"),
        ({"sequence": ">dna\nATGGCGTGCAAAGCTGCAACGTTGCA"}, "looks like DNA or RNA"),
        ({"sequence": "   "}, "give a sequence"),
        ({"sequence": "A" * 1001}, "1001 residues"),
        ({"sequence": "A" * 501, "model": "seed2018"}, "501 residues"),
        ({"sequence": ">a\nMKT\n>b\nMKV"}, "one protein per job"),
        ({"sequence": SEQUENCE, "model": "alphafold"}, "unknown model 'alphafold'"),
        ({"example": "nothere"}, "unknown example 'nothere'"),
    ],
)
def test_bad_json_input_is_400_with_message(client: TestClient, body: dict, words: str) -> None:
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 400
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"msa": ("x.a3m", ">q\nMKTAYIAK\n>h\nMKTA-\n")}, "length"),
        ({"structure": ("s.pdb", "ATOM      1  N   ALA A   1      garbage\n")}, "structure"),
        (
            {
                "structure": (
                    "s.pdb",
                    WATER_ONLY,
                )
            },
            "no protein chain",
        ),
        ({"msa": ("x.sto", b"\xff\xfe\x00binary")}, "not UTF-8"),
    ],
)
def test_bad_uploads_are_400_with_message(client: TestClient, files: dict, words: str) -> None:
    response = client.post("/api/jobs", files=files)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]


def test_mismatched_msa_and_structure(client: TestClient) -> None:
    example = next(iter(examples().values()))
    files = {
        "msa": ("g.sto", (DATA / "globins4.sto").read_text()),
        "structure": ("s.pdb", example.structure()),
    }
    response = client.post("/api/jobs", files=files)
    assert response.status_code == 400 and "does not match" in response.json()["detail"]


def test_malformed_requests(client: TestClient) -> None:
    response = client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "invalid request" in response.json()["detail"]
    response = client.post("/api/jobs", json={"sequence": 12})
    assert response.status_code == 422 and "sequence" in response.json()["detail"]


def test_upload_over_the_limit_is_413(client: TestClient) -> None:
    big = b">q\n" + b"A" * (21 * 1024 * 1024)
    before = client.get("/api/examples").json()
    response = client.post("/api/jobs", files={"msa": ("big.a3m", big)})
    assert response.status_code == 413
    assert response.json()["detail"] == "the upload is over the 20 MB limit"
    chunks = (big[k : k + 65536] for k in range(0, len(big), 65536))  # no Content-Length
    response = client.post(
        "/api/jobs", content=chunks, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    chunks = (big[k : k + 65536] for k in range(0, len(big), 65536))
    explain = f"/api/jobs/{'0' * 32}/explain"  # a JSON route, which reads the body itself
    response = client.post(explain, content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"] == "the upload is over the 20 MB limit"
    assert client.get("/api/examples").json() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobs/0123456789abcdef0123456789abcdef",
        "/api/jobs/..%2F..%2Fetc%2Fpasswd",
        "/api/jobs/abc",
        "/api/jobs/0123456789ABCDEF0123456789ABCDEF/predictions",
        "/view/..%2Ffoldlens.sqlite",
    ],
)
def test_unknown_or_path_like_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "job" in response.json()["detail"] or "nothing here" in response.json()["detail"]


def test_missing_results_and_bad_exports(client: TestClient, example_job: dict) -> None:
    plain = client.post("/api/jobs", json={"sequence": SEQUENCE}).json()
    wait_job(client, plain["id"])
    assert client.get(f"/api/jobs/{plain['id']}/truth").status_code == 404
    assert client.get(f"/api/jobs/{plain['id']}/structure").status_code == 404
    export = f"/api/jobs/{plain['id']}/export"
    response = client.get(export, params={"what": "structure", "format": "pdb", "track": "rsa"})
    assert response.status_code == 404 and "structure/pdb" in response.json()["detail"]
    response = client.get(export, params={"what": "movie", "format": "mp4"})
    assert response.status_code == 400 and "offers" in response.json()["detail"]
    response = client.get(
        f"/api/jobs/{example_job['id']}/export",
        params={"what": "structure", "format": "pdb", "track": "nope"},
    )
    assert response.status_code == 400 and "unknown track 'nope'" in response.json()["detail"]
    assert client.get(export, params={"what": "pairs"}).status_code == 422


def test_results_wait_for_the_worker(tmp_path: Path) -> None:
    """Without its lifespan the app's worker never starts: the job stays queued, results are 409."""
    client = TestClient(create_app(tmp_path), base_url=LOCAL)
    job = client.post("/api/jobs", json={"sequence": SEQUENCE})
    assert job.status_code == 202 and job.json()["status"] == "queued"
    response = client.get(f"/api/jobs/{job.json()['id']}/predictions")
    assert response.status_code == 409 and "queued" in response.json()["detail"]


def test_restart_keeps_results_and_resumes_running_jobs(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path), base_url=LOCAL) as client:
        done = client.post("/api/jobs", json={"sequence": SEQUENCE}).json()
        wait_job(client, done["id"])
        before = client.get(f"/api/jobs/{done['id']}/predictions?format=npz").content
    store = JobStore(tmp_path / "foldlens.sqlite")
    from foldlens.service import job_input

    interrupted, _ = store.submit(job_input(sequence=SEQUENCE[:40]))
    hopeless, _ = store.submit(job_input(sequence=SEQUENCE[:50]))
    assert store.start(interrupted.id) and store.start(hopeless.id)
    for _ in range(MAX_ATTEMPTS - 1):  # the hopeless job has crashed the server every time
        store.recover()
        store.start(hopeless.id)
    with TestClient(create_app(tmp_path), base_url=LOCAL) as client:
        assert wait_job(client, interrupted.id)["status"] == "done"
        failed = wait_job(client, hopeless.id)
        assert failed["status"] == "failed" and "stopped" in failed["message"]
        assert client.get(f"/api/jobs/{done['id']}/predictions?format=npz").content == before
        retried = client.post("/api/jobs", json={"sequence": SEQUENCE[:50]})
        assert retried.status_code == 202 and wait_job(client, hopeless.id)["status"] == "done"


def test_a_stop_queues_the_running_job_again_without_counting_it(tmp_path: Path) -> None:
    """SIGTERM's path: the running job gives up at its next layer and is queued again with its
    start not counted, so ordinary restarts never fail it; the next start runs it."""
    from foldlens.service import job_input
    from foldlens.service.jobs import JobService

    service = JobService(tmp_path)
    service.start()
    long_job = job_input(sequence=(SEQUENCE * 10)[:600])  # seconds of network: caught running
    job = service.submit(long_job).job
    wait_for(lambda: service.get(job.id), lambda j: j.stage == "running the network", "the job")
    service.stop(timeout=DEADLINE)
    assert not service._worker.is_alive()
    stopped = service.get(job.id)
    assert (stopped.status, stopped.attempts) == ("queued", 0), stopped
    for _ in range(MAX_ATTEMPTS):  # restarts that stop it again and again never fail it
        again = JobService(tmp_path)
        assert again.store.recover() == [job.id]
        assert again.store.start(job.id)
        again.store.requeue(job.id)
        assert again.get(job.id).attempts == 0


def test_predictions_are_sent_gzipped(client: TestClient, example_job: dict) -> None:
    url = f"/api/jobs/{example_job['id']}/predictions"
    raw = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = client.get(url, headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert json.loads(zipped.content) == raw.json()


def test_openapi_and_pages(client: TestClient, example_job: dict) -> None:
    schema = client.get("/openapi.json").json()
    assert {
        "/api/models",
        "/api/examples",
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/predictions",
        "/api/jobs/{job_id}/export",
    } <= set(schema["paths"])
    body = schema["paths"]["/api/jobs"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    for path in ("/", f"/view/{example_job['id']}"):
        page = client.get(path)
        assert page.status_code == 200 and "<script" in page.text
    for unknown in ("/view/" + "0" * 32, "/view/not-an-id"):  # the page says so; the status too
        page = client.get(unknown)
        assert page.status_code == 404 and "<script" in page.text


def test_the_pairs_csv_streams_every_pair_once_across_chunks() -> None:
    """250 residues: 31,125 pairs, more than one chunk; the rows against a loop written here."""
    import csv

    from foldlens.service.exports import PAIR_ROWS_PER_CHUNK, _pairs_csv

    keys = ["dist_ca_ca", "dist_ca_cb"]

    rng = np.random.default_rng(1)
    length = 250
    prediction = {"sequence": ("ACDEFGHIKLMNPQRSTVWY" * 13)[:length]}
    prediction |= {key: rng.random((length, length)) for key in keys}
    chunks = list(_pairs_csv(prediction, keys))
    assert len(chunks) > 2 and length * (length - 1) // 2 > PAIR_ROWS_PER_CHUNK
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    expected = [(i, j) for i in range(length) for j in range(i + 1, length)]
    assert [(int(r["i"]) - 1, int(r["j"]) - 1) for r in rows] == expected
    for row, (i, j) in zip(rows[::997], expected[::997], strict=True):
        assert row["residue_i"] == prediction["sequence"][i]
        for key in keys:
            assert row[key] == f"{prediction[key][i, j]:.4f}"


def test_a_job_over_the_time_budget_fails_with_the_reason(tmp_path: Path) -> None:
    """Checked before the network and after every layer: a microsecond is spent before."""
    from foldlens.service import job_input
    from foldlens.service.jobs import JobService

    service = JobService(tmp_path, job_seconds=1e-6)
    service.start()
    try:
        job = service.submit(job_input(sequence=SEQUENCE)).job
        assert service.wait_idle(DEADLINE)
        failed = service.get(job.id)
        assert failed.status == "failed" and failed.message and "budget" in failed.message
    finally:
        service.stop(DEADLINE)
    with pytest.raises(ValueError, match="must be positive"):
        JobService(tmp_path, job_seconds=0)
