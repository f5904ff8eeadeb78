"""A corpus of hostile requests against every route: each gets a 4xx with a readable message —
never a 5xx, a stack trace or a dropped connection — and the stored job stays intact."""

from __future__ import annotations

import gzip
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from polling import wait_job

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"
GOOD_TARGET = {"head": "ss3", "i": 3, "class": "H"}
JOB = "{job}"


def explain(body: Any) -> tuple[str, str, dict[str, Any]]:
    return ("POST", f"/api/jobs/{JOB}/explain", {"json": body})


def explain_raw(text: str) -> tuple[str, str, dict[str, Any]]:
    return (
        "POST",
        f"/api/jobs/{JOB}/explain",
        {"content": text, "headers": {"content-type": "application/json"}},
    )


def submit(body: Any) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/api/jobs", {"json": body})


def upload(files: dict[str, tuple[str, bytes]], **fields: str) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/api/jobs", {"files": files, "data": fields})


def with_target(**target: Any) -> tuple[str, str, dict[str, Any]]:
    return explain({"target": target, "methods": ["gradient"]})


CORPUS: dict[str, tuple[tuple[str, str, dict[str, Any]], str]] = {
    # -- submitting a job -----------------------------------------------------------------------
    "digits in the sequence": (submit({"sequence": "MKT1AYI"}), "1"),
    "empty sequence": (submit({"sequence": ""}), "sequence"),
    "only whitespace": (submit({"sequence": "  \n\t "}), "sequence"),
    "over-long sequence": (submit({"sequence": "A" * 1001}), "1000"),
    "over-long for seed2018": (submit({"sequence": "A" * 501, "model": "seed2018"}), "500"),
    "sequence of the wrong type": (submit({"sequence": 5}), "sequence"),
    "sequence as a list": (submit({"sequence": ["MKT"]}), "sequence"),
    "nothing to predict": (submit({}), "sequence"),
    "unknown example": (submit({"example": "1abc_Z"}), "example"),
    "unknown model": (submit({"sequence": SEQUENCE, "model": "alphafold9"}), "model"),
    "model as a list": (submit({"sequence": SEQUENCE, "model": ["default"]}), "model"),
    "FASTA header alone": (submit({"sequence": ">only a name\n"}), "empty"),
    "two FASTA records": (submit({"sequence": ">a\nMKTAYI\n>b\nMKTAYI\n"}), "record"),
    "NUL byte": (submit({"sequence": "MKT\u0000AYI"}), "position 4"),
    "full-width letters": (submit({"sequence": "ＭＫＴＡＹＩ"}), "Ｍ"),
    "emoji": (submit({"sequence": "MKT🧬AYI"}), "🧬"),
    "JSON array": (("POST", "/api/jobs", {"json": ["MKT"]}), "body"),
    "JSON null": (
        ("POST", "/api/jobs", {"content": "null", "headers": {"content-type": "application/json"}}),
        "body",
    ),
    "broken JSON": (
        (
            "POST",
            "/api/jobs",
            {"content": '{"sequence": "MK', "headers": {"content-type": "application/json"}},
        ),
        "invalid",
    ),
    "plain text body": (
        ("POST", "/api/jobs", {"content": "MKTAYI", "headers": {"content-type": "text/plain"}}),
        "JSON",
    ),
    "URL-encoded form": (
        (
            "POST",
            "/api/jobs",
            {
                "content": "sequence=MKTAYI",
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
        ),
        "JSON",
    ),
    "MSA that is not one": (upload({"msa": ("a.a3m", b"hello world\n")}), "header"),
    "MSA of another protein": (
        upload({"msa": ("a.a3m", b">q\nMKTAYIAK\n>h\nMKTAYIAK\n")}, sequence=SEQUENCE),
        "MSA",
    ),
    "binary MSA": (upload({"msa": ("a.a3m", gzip.compress(b">q\nMKT\n"))}), "MSA"),
    "structure that is not one": (upload({"structure": ("s.pdb", b"HELLO\n")}), "structure"),
    "empty structure": (upload({"structure": ("s.pdb", b"")}), "structure"),
    "binary structure": (upload({"structure": ("s.cif", bytes(range(256)) * 8)}), "structure"),
    "FASTA file not UTF-8": (upload({"fasta": ("s.fa", b">x\n\xff\xfeMKT\n")}), "FASTA"),
    "FASTA of numbers": (upload({"fasta": ("s.fa", b">x\n12345\n")}), "only numbers"),
    "too many files": (
        upload({f"f{k}": ("x", b"x") for k in range(6)}, sequence=SEQUENCE),
        "",
    ),
    "oversized upload": (
        upload({"msa": ("a.a3m", b">q\n" + b"A" * (21 * 1024 * 1024))}),
        "20 MB",
    ),
    # -- reading jobs ---------------------------------------------------------------------------
    "job id too short": (("GET", "/api/jobs/abc", {}), "not a job id"),
    "job id with a path": (("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd", {}), "nothing here"),
    "unknown job": (("GET", "/api/jobs/" + "0" * 32, {}), "no job"),
    "upper-case job id": (("GET", "/api/jobs/" + "A" * 32, {}), "not a job id"),
    "unknown export": (("GET", f"/api/jobs/{JOB}/export?what=movie&format=mp4", {}), "offers"),
    "export without a format": (("GET", f"/api/jobs/{JOB}/export?what=maps", {}), "format"),
    "unknown track": (
        ("GET", f"/api/jobs/{JOB}/export?what=structure&format=pdb&track=nope", {}),
        "offers",
    ),
    "predictions as XML": (("GET", f"/api/jobs/{JOB}/predictions?format=xml", {}), "format"),
    "true maps of a job without a structure": (("GET", f"/api/jobs/{JOB}/truth", {}), "structure"),
    # -- explaining -----------------------------------------------------------------------------
    "no target": (explain({"methods": ["gradient"]}), "target"),
    "target as a list": (explain({"target": [1, 2], "methods": ["gradient"]}), "target"),
    "target as a string": (explain({"target": "ss3", "methods": ["gradient"]}), "target"),
    "unknown head": (with_target(head="torsion", i=3), "no head"),
    "head as an object": (with_target(head={"a": 1}, i=3), "no head"),
    "residue past the end": (with_target(head="rsa", i=10_000), "out of range"),
    "negative residue": (with_target(head="rsa", i=-1), "out of range"),
    "residue as text": (with_target(head="rsa", i="3"), "residue"),
    "residue as a fraction": (with_target(head="rsa", i=2.5), "index"),
    "residue as a boolean": (with_target(head="rsa", i=True), "residue"),
    "unknown class": (with_target(head="ss3", i=3, **{"class": "Q"}), "class"),
    "pair head without j": (with_target(head="contact", i=3), "needs j"),
    "unknown layer": (with_target(layer="trunk9", channel=0, i=1), "no layer"),
    "channel out of range": (with_target(layer="trunk1d.0.conv1", channel=10_000, i=1), "range"),
    "no methods": (explain({"target": GOOD_TARGET, "methods": []}), "method"),
    "unknown method": (explain({"target": GOOD_TARGET, "methods": ["lime"]}), "lime"),
    "engine-only method": (
        explain({"target": GOOD_TARGET, "methods": ["feature_ablation"]}),
        "feature_ablation",
    ),
    "methods as a string": (explain({"target": GOOD_TARGET, "methods": "gradient"}), "methods"),
    "options as a list": (
        explain({"target": GOOD_TARGET, "methods": ["smoothgrad"], "options": [1]}),
        "options",
    ),
    "unknown option": (
        explain(
            {
                "target": GOOD_TARGET,
                "methods": ["smoothgrad"],
                "options": {"smoothgrad": {"temperature": 2}},
            }
        ),
        "temperature",
    ),
    "zero steps": (
        explain(
            {
                "target": GOOD_TARGET,
                "methods": ["integrated_gradients"],
                "options": {"integrated_gradients": {"steps": 0}},
            }
        ),
        "outside",
    ),
    "a billion samples": (
        explain(
            {
                "target": GOOD_TARGET,
                "methods": ["smoothgrad"],
                "options": {"smoothgrad": {"samples": 10**9}},
            }
        ),
        "outside",
    ),
    "infinite steps": (
        explain_raw(
            '{"target": {"head": "ss3", "i": 3, "class": "H"}, "methods": '
            '["integrated_gradients"], "options": {"integrated_gradients": '
            '{"steps": 1e999}}}'
        ),
        "finite",
    ),
    "NaN noise": (
        explain_raw(
            '{"target": {"head": "ss3", "i": 3, "class": "H"}, "methods": '
            '["smoothgrad"], "options": {"smoothgrad": {"noise": NaN}}}'
        ),
        "finite",
    ),
    "unknown layer to attribute to": (
        explain({"target": GOOD_TARGET, "methods": ["gradient"], "wrt": "trunk99"}),
        "trunk99",
    ),
    "occlusion of a layer": (
        explain({"target": GOOD_TARGET, "methods": ["occlusion"], "wrt": "trunk1d.0.conv1"}),
        "occlusion",
    ),
    "deeply nested JSON": (explain_raw('{"target": ' + "[" * 5000 + "]" * 5000 + "}"), ""),
    "explaining an unknown job": (
        (
            "POST",
            "/api/jobs/" + "0" * 32 + "/explain",
            {"json": {"target": GOOD_TARGET, "methods": ["gradient"]}},
        ),
        "no job",
    ),
    "unknown analysis": (
        (
            "POST",
            f"/api/jobs/{JOB}/analyze",
            {"json": {"target": GOOD_TARGET, "analysis": "astrology"}},
        ),
        "astrology",
    ),
    "overview of a pair head": (
        ("POST", f"/api/jobs/{JOB}/overview", {"json": {"head": "contact", "method": "gradient"}}),
        "head",
    ),
    "overview with an unknown method": (
        ("POST", f"/api/jobs/{JOB}/overview", {"json": {"head": "rsa", "method": "lime"}}),
        "lime",
    ),
    "unknown task": (("GET", "/api/explanations/no-such-task", {}), "task"),
    "cancelling an unknown task": (("DELETE", "/api/explanations/no-such-task", {}), "task"),
    "result of an unknown task": (("GET", "/api/explanations/no-such-task/gradient", {}), "task"),
    "export of an unknown result": (
        ("GET", "/api/explanations/results/" + "f" * 64 + "/export?what=figure&format=png", {}),
        "",
    ),
    # -- the server's own rules -----------------------------------------------------------------
    "foreign Host header": (("GET", "/api/models", {"headers": {"host": "evil.example"}}), "host"),
    "cross-site write": (
        (
            "POST",
            "/api/jobs",
            {"json": {"sequence": SEQUENCE}, "headers": {"origin": "https://evil.example"}},
        ),
        "cross-site",
    ),
    "wrong verb": (("PUT", "/api/jobs", {"json": {}}), ""),
    "unknown route": (("GET", "/api/secrets", {}), "nothing here"),
}


@pytest.fixture(scope="module")
def job(client: TestClient) -> dict:
    created = client.post("/api/jobs", json={"sequence": SEQUENCE}).json()
    return wait_job(client, created["id"])


@pytest.mark.parametrize("case", list(CORPUS))
def test_hostile_request_gets_a_readable_4xx(client: TestClient, job: dict, case: str) -> None:
    (method, path, kwargs), words = CORPUS[case]
    before = client.get(f"/api/jobs/{job['id']}/predictions?format=npz").content
    response = client.request(method, path.replace(JOB, job["id"]), **kwargs)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text[:300])
    detail = response.json()["detail"]
    assert isinstance(detail, str) and 0 < len(detail) < 2000, detail
    assert "Traceback" not in detail and 'File "' not in detail
    assert words.lower() in detail.lower(), (case, detail)
    assert client.get(f"/api/jobs/{job['id']}/predictions?format=npz").content == before


def test_the_corpus_is_large() -> None:
    assert len(CORPUS) >= 60


def test_a_binary_body_is_refused_readably(client: TestClient) -> None:
    response = client.post(
        "/api/jobs",
        content=io.BytesIO(bytes(range(256))).read(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422 and "invalid" in response.json()["detail"]
