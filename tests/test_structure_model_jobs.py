"""The 3D model through the server and the CLI: built on demand as a task, cached, compared with
the job's known structure, exported as PDB and mmCIF; refused for a model without distograms."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import gemmi
import numpy as np
import pytest
from fastapi.testclient import TestClient

from foldlens.cli import TEST_SPLIT, main
from foldlens.data.chains import ChainSet
from foldlens.folding.baselines import mds_trace
from foldlens.folding.comparison import lddt, tm_score
from foldlens.folding.distograms import predict_distograms
from foldlens.models import adapter, load, spec
from foldlens.models.views import OutputTarget
from foldlens.protein.record import Protein
from foldlens.protein.structure import read_structure
from foldlens.service.errors import InvalidInputError
from foldlens.service.explain import explain_batch_size
from foldlens.service.targets import WHOLE_MAP_RESIDUES, check_target
from polling import finish, finish_task, wait_job


def _built(client: TestClient, job_id: str) -> dict:
    answer = client.post(f"/api/jobs/{job_id}/model3d", json={"wait": 0})
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        status = finish_task(client, answer.json()["task"])
        assert status is not None and status["status"] == "done", status
        answer = client.post(f"/api/jobs/{job_id}/model3d", json={"wait": 0})
    assert answer.status_code == 200
    return answer.json()["result"]


def _offered(client: TestClient, job_id: str) -> set[tuple[str, str]]:
    exports = client.get(f"/api/jobs/{job_id}").json()["exports"]
    return {(item["what"], item["format"]) for item in exports}


def test_the_model_is_built_once_compared_with_the_known_structure_and_exported(
    client: TestClient, job: dict
) -> None:
    assert ("model3d", "pdb") not in _offered(client, job["id"])  # listed once it is built
    model = _built(client, job["id"])
    assert {("model3d", "pdb"), ("model3d", "cif")} <= _offered(client, job["id"])
    backbone = read_structure(model["pdb"])
    predictions = client.get(f"/api/jobs/{job['id']}/predictions").json()
    assert backbone.sequence == predictions["sequence"]
    b_factors = [atom.b_iso for residue in gemmi.read_pdb_string(model["pdb"])[0][0]
                 for atom in residue if atom.name == "CA"]  # fmt: skip
    assert np.allclose(b_factors, model["plddt"], atol=0.01)
    assert all(0 <= v <= 100 for v in model["plddt"])
    assert np.allclose(predictions["plddt"], model["plddt"], atol=0.01)
    assert np.asarray(predictions["pae"]).shape == (len(backbone), len(backbone))

    known = {"what": "structure", "format": "pdb"}
    truth = read_structure(client.get(f"/api/jobs/{job['id']}/export", params=known).text)
    comparison = model["comparison"]
    assert comparison["tm_score"] == pytest.approx(tm_score(backbone.ca, truth.ca).score, abs=1e-3)
    assert comparison["lddt"] == pytest.approx(lddt(backbone.ca, truth.ca)[1], abs=1e-3)
    superposed = read_structure(comparison["superposed_pdb"])
    assert superposed.sequence == truth.sequence
    d0 = 1.24 * (len(truth) - 15) ** (1 / 3) - 1.8
    distances = np.linalg.norm(superposed.ca - backbone.ca, axis=-1)
    assert np.mean(1 / (1 + (distances / d0) ** 2)) == pytest.approx(
        comparison["tm_score"], abs=1e-3
    )

    again = client.post(f"/api/jobs/{job['id']}/model3d", json={"wait": 0})
    assert again.status_code == 200 and again.json()["result"]["pdb"] == model["pdb"]
    pdb = client.get(f"/api/jobs/{job['id']}/export", params={"what": "model3d", "format": "pdb"})
    assert pdb.status_code == 200 and pdb.text == model["pdb"]
    cif = client.get(f"/api/jobs/{job['id']}/export", params={"what": "model3d", "format": "cif"})
    assert cif.status_code == 200
    from_cif = gemmi.make_structure_from_block(gemmi.cif.read_string(cif.text).sole_block())
    assert gemmi.one_letter_code([r.name for r in from_cif[0][0]]) == backbone.sequence
    figure = client.get(
        f"/api/jobs/{job['id']}/export", params={"what": "confidence", "format": "png"}
    )
    assert figure.status_code == 200 and figure.content[:4] == b"\x89PNG"


def test_a_model_without_distograms_gets_no_3d_model(client: TestClient) -> None:
    request = {"sequence": "MKTAYIAKQRQISFVKSHFSRQLEERLG", "model": "seed2018"}
    job = wait_job(client, client.post("/api/jobs", json=request).json()["id"])
    answer = client.post(f"/api/jobs/{job['id']}/model3d", json={})
    assert answer.status_code == 400 and "no distance distributions" in answer.json()["detail"]
    assert ("model3d", "pdb") not in _offered(client, job["id"])
    answer = client.get(
        f"/api/jobs/{job['id']}/export", params={"what": "model3d", "format": "pdb"}
    )
    assert answer.status_code == 400 and "offers no model3d/pdb" in answer.json()["detail"]


def test_the_model_is_not_exported_before_it_is_built(client: TestClient) -> None:
    job = wait_job(
        client,
        client.post("/api/jobs", json={"sequence": "MKTAYIAKQRQISFVKSHFSRQLEERLGAA"}).json()["id"],
    )
    answer = client.get(
        f"/api/jobs/{job['id']}/export", params={"what": "model3d", "format": "pdb"}
    )
    assert answer.status_code == 404 and "not built yet" in answer.json()["detail"]


def _pymol_b_factors(script: str, folder: Path) -> dict[int, float]:
    """Run ``script`` in PyMOL (installed by ``make system``) without a window and read back
    each Cα's B-factor by residue number."""
    (folder / "colour.pml").write_text(script)
    (folder / "check.pml").write_text(
        "@colour.pml\niterate foldlens and name CA, print(f'CA {resi} {b}')\n"
    )
    pymol = shutil.which("pymol")
    assert pymol is not None, "PyMOL is installed by `make system`"
    # Debian's wrapper runs `python3 -m pymol`: the system's python3, beside it, not a venv's
    path = f"{Path(pymol).parent}{os.pathsep}{os.environ['PATH']}"
    run = subprocess.run(
        [pymol, "-cq", "check.pml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path},
    )
    assert run.returncode == 0, run.stderr
    found = re.findall(r"^CA (\d+) (\S+)$", run.stdout, re.M)
    return {int(resi): float(b) for resi, b in found}


def test_the_pymol_script_carries_the_structure_it_colours(
    client: TestClient, job: dict, tmp_path: Path
) -> None:
    sequence_only = wait_job(
        client,
        client.post("/api/jobs", json={"sequence": "MKTAYIAKQRQISFVKSHFSRQLEERLGK"}).json()["id"],
    )
    for subject, carried in ((job, "this job's structure"), (sequence_only, "predicted 3D model")):
        body = {"target": {"head": "rsa", "i": 5}, "methods": ["gradient"]}
        answer = client.post(f"/api/jobs/{subject['id']}/explain", json=body).json()
        result = finish(client, answer)["gradient"]
        export = f"/api/explanations/results/{result['key']}/export"
        if subject is sequence_only:
            script = client.get(export, params={"what": "pymol"}).text
            assert (
                "neither a structure nor a 3D model yet" in script and "read_pdbstr" not in script
            )
            _built(client, subject["id"])
        script = client.get(export, params={"what": "pymol"}).text
        assert carried in script
        b_factors = _pymol_b_factors(script, tmp_path)
        assert sorted(b_factors) == list(range(1, subject["length"] + 1))
        np.testing.assert_allclose(
            [b_factors[k + 1] for k in range(subject["length"])],
            result["residue_sum"],
            rtol=1e-3,  # PDB-style B-factors keep two decimals once PyMOL rounds them
            atol=0.006,
        )


def test_predict_writes_the_model_with_plddt_and_pae(tmp_path, capsys) -> None:
    assert main(["predict", "MKTAYIAKQRQISFVKSHFSRQLEERLG", "--out", str(tmp_path)]) == 0
    backbone = read_structure((tmp_path / "model.pdb").read_text())
    assert backbone.sequence == "MKTAYIAKQRQISFVKSHFSRQLEERLG"
    with np.load(tmp_path / "predictions.npz") as arrays:
        assert arrays["plddt"].shape == (28,) and arrays["pae"].shape == (28, 28)
    assert (tmp_path / "confidence.png").is_file()
    assert (
        main(
            [
                "predict",
                "MKTAYIAKQRQISFVKSHFSRQLEERLG",
                "--out",
                str(tmp_path / "s"),
                "--model",
                "seed2018",
            ]
        )
        == 0
    )
    assert "predicts no distograms, so no 3D model" in capsys.readouterr().out
    assert not (tmp_path / "s" / "model.pdb").exists()


def test_evaluate_structure_end_to_end(tmp_path) -> None:
    """Two test chains in both modes: the report, its figure, and a baseline recomputed here."""
    out = tmp_path / "report"
    args = ["evaluate-structure", "--sample", "2", "--max-length", "70", "--resamples", "20",
            "--starts", "1", "--keep", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["report"]) == {"profile", "single"}
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "| all | 2 |" in (out / "report.md").read_text()
    chains = ChainSet.load(TEST_SPLIT)
    first = report["per_chain"][0]
    chain = chains[[str(c) for c in chains.chain_id].index(first["chain"])]
    assert first["mode"] == "profile" and len(chain) == first["length"] <= 70
    distograms = predict_distograms(
        load("default"), adapter("default"), Protein(chain.sequence, chain.profile)
    )
    assert first["tm"]["MDS"] == pytest.approx(
        tm_score(mds_trace(distograms).numpy(), chain.ca).score
    )
    assert 0 < first["tm"]["folded"] <= 1 and 0 < first["lddt"]["folded"] <= 1


def test_plddt_is_explained_one_input_at_a_time_and_only_where_its_whole_map_fits() -> None:
    model_spec = spec("default")
    check_target({"head": "plddt", "i": 3}, model_spec, WHOLE_MAP_RESIDUES)
    with pytest.raises(InvalidInputError, match=f"up to {WHOLE_MAP_RESIDUES} residues"):
        check_target({"head": "plddt", "i": 3}, model_spec, WHOLE_MAP_RESIDUES + 1)
    assert explain_batch_size(OutputTarget("plddt", 3), model_spec) == 1
    assert explain_batch_size(OutputTarget("pae", 3, 9), model_spec) == 2
