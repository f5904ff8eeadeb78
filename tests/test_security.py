"""The server as browsers meet it: only its own host names, no cross-site writes, headers that
keep the page on its own origin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from foldlens.cli import build_parser
from foldlens.server.security import (
    CONTENT_SECURITY_POLICY,
    bind_warning,
    host_name,
    is_loopback,
)

JOB = {"sequence": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV"}


@pytest.mark.parametrize("path", ["/", "/api/models", "/openapi.json", "/api/jobs/nope"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_hosts_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/models", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""]
)
def test_other_hosts_are_refused(client: TestClient, host: str) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused, with a reason."""
    response = client.get("/api/models", headers={"host": host})
    assert response.status_code == 400
    assert "--allowed-host" in response.json()["detail"]


def test_cross_site_writes_are_refused(client: TestClient) -> None:
    evil = {"origin": "http://evil.example"}
    response = client.post("/api/jobs", json=JOB, headers=evil)
    assert response.status_code == 403 and "cross-site" in response.json()["detail"]
    assert client.delete("/api/explanations/anything", headers=evil).status_code == 403
    same = {"origin": "http://127.0.0.1:8000"}
    assert client.post("/api/jobs", json=JOB, headers=same).status_code in (200, 202)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_bodies_must_be_json_or_multipart(client: TestClient, content_type: str) -> None:
    """What an HTML form or a simple cross-site fetch can send is refused before it is read."""
    response = client.post(
        "/api/jobs", content=b'{"sequence": "MKTAYIAK"}', headers={"content-type": content_type}
    )
    assert response.status_code == 415 and "JSON" in response.json()["detail"]


def test_no_page_loads_scripts_from_a_cdn(client: TestClient) -> None:
    """Swagger UI and ReDoc would load from a CDN: only the schema is served."""
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "foldlens"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)],
)  # fmt: skip
def test_binding_beyond_loopback_is_warned_about(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    warning = bind_warning(host)
    assert (warning is None) is loopback
    assert loopback or ("reachable from other machines" in warning and "--allowed-host" in warning)


def test_host_names_lose_their_port() -> None:
    assert host_name("[::1]:8000") == "::1"
    assert host_name("LocalHost:80") == "localhost"
    assert host_name("::1") == "::1"


def test_serve_takes_allowed_hosts() -> None:
    args = build_parser().parse_args(
        ["serve", "--host", "0.0.0.0", "--allowed-host", "lab.example", "--allowed-host", "x"]
    )
    assert args.allowed_host == ["lab.example", "x"] and args.host == "0.0.0.0"
