"""MSA search: jackhmmer (pyhmmer) on a database written here — homologs with known changes among
random decoys —, the A3M rows against a hand-made alignment, filtering, the cache, the database
checks, ``foldlens search``, and one search of Debian's default database."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from foldlens.cli import TEST_SPLIT, main
from foldlens.data.chains import ChainSet
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.msa import parse_msa
from foldlens.search import database as databases
from foldlens.search.cache import cache_key, cached_search
from foldlens.search.database import find_database
from foldlens.search.jackhmmer import SearchParameters, _a3m_row, search

LENGTH = 120


def random_sequence(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list(AMINO_ACIDS), length))


def mutated(rng: np.random.Generator, sequence: str, fraction: float) -> str:
    letters = list(sequence)
    for k in rng.choice(len(letters), int(fraction * len(letters)), replace=False):
        letters[k] = str(rng.choice(list(AMINO_ACIDS)))
    return "".join(letters)


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A query and a FASTA database: 12 homologs (10–40 % of residues changed), one with five
    residues inserted after residue 60 (and one changed), a fragment (its first 40 residues), a
    duplicate, and 300 random decoys."""
    rng = np.random.default_rng(0)
    query = random_sequence(rng, LENGTH)
    records = {f"homolog{k}": mutated(rng, query, 0.1 + 0.03 * k) for k in range(12)}
    changed = query[:30] + ("A" if query[30] != "A" else "C") + query[31:]
    records["inserted"] = changed[:60] + "WWWWW" + changed[60:]
    records["fragment"] = query[:40]
    records["duplicate"] = records["homolog0"]
    records |= {f"decoy{k}": random_sequence(rng, LENGTH) for k in range(300)}
    path = tmp_path_factory.mktemp("db") / "family.fasta"
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records.items()))
    return query, path


def test_a3m_row_from_a_domain_alignment() -> None:
    """Model line: letters at match states, '.' at insert states; target line: '-' where the
    target skips a match state."""
    # states 3 ← K, 4 ← L, an insert state with no residue, 5 ← M, 6 skipped
    assert _a3m_row(3, "ab.cd", "KL-M-", 6) == "--KLM-"
    # state 2 ← Q, two residues in insert states (lower case after column 2), 3 ← T, 4 ← V
    row = _a3m_row(2, "a..bc", "QRSTV", 5)
    assert row == "-QrsTV-"
    assert parse_msa(f">q\nACDEF\n>t\n{row}\n").rows[1] == "-QTV-"


def test_search_finds_the_homologs_and_filters(family: tuple[str, Path]) -> None:
    query, path = family
    result = search("query", query, find_database(path), SearchParameters())
    assert result.converged and result.iterations <= 5
    names = [line[1:].split("/")[0] for line in result.a3m.splitlines() if line.startswith(">")]
    assert names[0] == "query"
    found = set(names[1:])
    assert {f"homolog{k}" for k in range(12)} | {"inserted"} <= found | {"homolog0"}
    assert not any(name.startswith("decoy") for name in found)
    assert "fragment" not in found, "it covers a third of the query"
    assert ("homolog0" in found) != ("duplicate" in found), "identical rows are kept once"
    alignment = result.alignment
    assert alignment.query == query and all(len(row) == LENGTH for row in alignment.rows)
    rows = dict(zip(names, result.a3m.splitlines()[1::2], strict=True))
    assert "wwwww" in rows["inserted"] and rows["inserted"].replace("wwwww", "")[31:] == query[31:]
    assert len(result.coverage) == LENGTH and min(result.coverage) > 0.75  # local ends
    assert 1 < result.neff <= len(alignment.rows)


def test_the_cache_answers_the_same_search(family: tuple[str, Path], tmp_path: Path) -> None:
    query, path = family
    database = find_database(path)
    parameters = SearchParameters(iterations=3)
    first, cached = cached_search("query", query, database, parameters, tmp_path)
    again, cached_again = cached_search("query", query, database, parameters, tmp_path)
    assert not cached and cached_again
    assert again.a3m == first.a3m and again.neff == first.neff
    assert again.alignment.rows == first.alignment.rows
    other = SearchParameters(iterations=2)
    assert cache_key(query, database, other) != cache_key(query, database, parameters)
    copy = tmp_path / "copy.fasta"
    copy.write_bytes(path.read_bytes())
    before = find_database(copy).digest()
    with copy.open("a") as handle:
        handle.write(">extra\nACDEFGHIKL\n")
    assert find_database(copy).digest() != before


needs_mmseqs = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="needs Debian's mmseqs2 (make system)"
)


@needs_mmseqs
def test_an_mmseqs2_database_is_searched_with_mmseqs(
    family: tuple[str, Path], tmp_path: Path
) -> None:
    """The same family as an MMseqs2 database: mmseqs search finds the homologs and no decoy,
    the rows lie over the query's columns, the filters and the left-out names apply, and the
    cache tells the programs apart."""
    query, path = family
    prefix = tmp_path / "family"
    subprocess.run(["mmseqs", "createdb", str(path), str(prefix)], check=True, capture_output=True)
    database = find_database(prefix)
    assert database.kind == "mmseqs2" and database.program().startswith("mmseqs search")
    iterations: list[int] = []
    result, cached = cached_search(
        "query", query, database, SearchParameters(iterations=3), tmp_path / "cache",
        iterations.append, exclude=frozenset({"homolog1"}),
    )  # fmt: skip
    names = [line[1:] for line in result.a3m.splitlines()[2::2]]
    assert not cached and iterations[-1] == 3 and result.converged is None
    assert {"homolog2", "homolog3", "homolog4"} <= set(names)
    assert len({"homolog0", "duplicate"} & set(names)) == 1, "identical rows are kept once"
    assert "homolog1" not in names and not any(n.startswith("decoy") for n in names)
    assert "fragment" not in names and len(names) == len(set(names))
    assert result.alignment.query == query
    assert all(len(row) == LENGTH for row in result.alignment.rows)
    fasta = find_database(path)
    key = cache_key(query, database, SearchParameters(iterations=3))
    assert key != cache_key(query, fasta, SearchParameters(iterations=3))


def hhsuite_database(fasta: Path, prefix: Path) -> None:
    """An HH-suite database of single-sequence families, built as HH-suite's documentation says:
    the A3Ms (one sequence each), their HMMs (hhmake) and column-state sequences (cstranslate)."""
    a3m, hhm, cs219 = (f"{prefix}_{part}" for part in ("a3m", "hhm", "cs219"))
    data = "/usr/share/hhsuite/data"
    commands = [
        ["ffindex_from_fasta", "-s", f"{a3m}.ffdata", f"{a3m}.ffindex", str(fasta)],
        ["ffindex_apply", f"{a3m}.ffdata", f"{a3m}.ffindex", "-i", f"{hhm}.ffindex",
         "-d", f"{hhm}.ffdata", "--", "hhmake", "-i", "stdin", "-o", "stdout", "-v", "0"],
        [CSTRANSLATE, "-f", "-x", "0.3", "-c", "4", "-I", "a3m", "-i", a3m, "-o", cs219,
         "-A", f"{data}/cs219.lib", "-D", f"{data}/context_data.lib"],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)


CSTRANSLATE = "/usr/libexec/hhsuite/cstranslate-plain"
needs_hhsuite = pytest.mark.skipif(
    shutil.which("hhblits") is None or not Path(CSTRANSLATE).is_file(),
    reason="needs Debian's hhsuite (make system)",
)


@needs_hhsuite
def test_an_hhsuite_database_is_searched_with_hhblits(
    family: tuple[str, Path], tmp_path: Path
) -> None:
    """The same family (with 50 of its decoys: hhmake runs once per entry) as an HH-suite
    database: hhblits finds the homologs and no decoy, says it converged, the filters and the
    left-out names apply."""
    query, path = family
    records = path.read_text().split(">")[1:]
    kept = [r for r in records if not r.startswith("decoy") or int(r.split()[0][5:]) < 50]
    smaller = tmp_path / "family.fasta"
    smaller.write_text("".join(f">{record}" for record in kept))
    prefix = tmp_path / "family"
    hhsuite_database(smaller, prefix)
    database = find_database(prefix)
    assert database.kind == "hhsuite" and database.program().startswith("HHblits")
    result, _ = cached_search(
        "query", query, database, SearchParameters(), None, exclude=frozenset({"homolog1"})
    )
    names = [line[1:] for line in result.a3m.splitlines()[2::2]]
    assert result.converged is True and 1 <= result.iterations < 20
    assert {"homolog2", "homolog3", "homolog4"} <= set(names)
    assert len({"homolog0", "duplicate"} & set(names)) == 1, "identical rows are kept once"
    assert "homolog1" not in names and not any(n.startswith("decoy") for n in names)
    assert "fragment" not in names and result.alignment.query == query
    assert all(len(row) == LENGTH for row in result.alignment.rows)
    (tmp_path / "partial_a3m.ffdata").write_text("")
    with pytest.raises(ValueError, match="without its a3m, hhm, cs219"):
        find_database(tmp_path / "partial")


def test_databases_of_other_kinds_and_missing_ones_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "uniclust_a3m.ffdata").write_text("")
    with monkeypatch.context() as patched:
        patched.setattr(databases.shutil, "which", lambda program: None)
        with pytest.raises(ValueError, match="apt-get install hhsuite"):
            find_database(tmp_path / "uniclust")
    (tmp_path / "uniref.dbtype").write_bytes(b"\x01\x00\x00\x00")
    with monkeypatch.context() as patched:
        patched.setattr(databases.shutil, "which", lambda program: None)
        with pytest.raises(ValueError, match="apt-get install mmseqs2"):
            find_database(tmp_path / "uniref")
    if shutil.which("mmseqs") is not None:
        with pytest.raises(ValueError, match="not of amino-acid sequences"):
            find_database(tmp_path / "uniref")
    with pytest.raises(ValueError, match="no sequence database"):
        find_database(tmp_path / "nowhere.fasta")
    monkeypatch.setattr(databases, "UNIPROT_EXAMPLES", tmp_path / "absent.fasta.gz")
    monkeypatch.delenv("FOLDLENS_SEQDB", raising=False)
    with pytest.raises(ValueError, match="apt-get install mmseqs2-examples"):
        find_database()
    monkeypatch.setenv("FOLDLENS_SEQDB", str(tmp_path / "nowhere.fasta"))
    with pytest.raises(ValueError, match=r"nowhere\.fasta"):
        find_database()


def test_search_command(
    family: tuple[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    query, path = family
    out = tmp_path / "out"
    command = ["search", query, "--out", str(out), "--db", str(path), "--cache", str(tmp_path)]
    assert main(command) == 0
    summary = json.loads((out / "search.json").read_text())
    assert summary["converged"] and summary["sequences"] >= 13 and not summary["from_cache"]
    assert summary["database_digest"] == find_database(path).digest()
    assert set(summary["parameters"]) == {"iterations", "evalue", "coverage"}
    assert parse_msa((out / "msa.a3m").read_text()).query == query
    assert main(command) == 0
    assert json.loads((out / "search.json").read_text())["from_cache"]
    two = tmp_path / "two.fasta"
    two.write_text(f">a\n{query}\n>b\n{query}\n")
    capsys.readouterr()
    assert main(["search", str(two), "--out", str(out), "--db", str(path)]) == 2
    assert "holds 2 proteins" in capsys.readouterr().err
    assert main(["search", query, "--out", str(out), "--db", str(path), "--evalue", "0"]) == 2


needs_default = pytest.mark.skipif(
    not databases.UNIPROT_EXAMPLES.is_file(), reason="needs Debian's mmseqs2-examples (make system)"
)


@needs_default
def test_a_search_of_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """One of mmseqs2-examples' own query sequences against the default database."""
    with gzip.open(databases.UNIPROT_EXAMPLES.with_name("QUERY.fasta.gz"), "rt") as handle:
        records = handle.read().split(">")[1:]
    sequence = "".join(records[3].splitlines()[1:])
    monkeypatch.delenv("FOLDLENS_SEQDB", raising=False)
    database = find_database()
    assert database.paths == (databases.UNIPROT_EXAMPLES, databases.PDB_CHAINS)
    assert find_database("default") == database
    result = search("query", sequence, database, SearchParameters())
    assert result.converged and len(result.alignment.rows) > 10


def test_the_training_source_clusters_lie_within_one_split() -> None:
    """The shipped PDB chains: the test split's chains and no others are marked test, and every
    30 % cluster lies in one split (so leaving out the query's cluster leaves out every chain a
    test chain was split away from the training chains with)."""
    splits, clusters = {}, {}
    with gzip.open(databases.PDB_CHAINS, "rt") as fasta:
        for line in fasta:
            if line.startswith(">"):
                chain, cluster, split = line[1:].split()
                clusters[chain] = cluster.removeprefix("cluster=")
                splits[chain] = split.removeprefix("split=")
    assert databases.pdb_clusters() == clusters
    test = ChainSet.load(TEST_SPLIT)
    assert {c for c, s in splits.items() if s == "test"} == set(test.chain_id.tolist())
    for chain, cluster in clusters.items():
        assert splits[cluster] == splits[chain] and clusters[cluster] == cluster
    chain = str(test.chain_id[0])
    members = databases.same_cluster(chain)
    assert chain in members and {clusters[m] for m in members} == {clusters[chain]}
    with pytest.raises(ValueError, match="not a chain of the training source"):
        databases.same_cluster("9xyzQ")


@needs_default
def test_a_search_leaves_out_the_sequences_it_is_told_to() -> None:
    """A test chain with homologs in its own cluster finds them, and none when they are left
    out."""
    test = ChainSet.load(TEST_SPLIT)
    index = int(np.flatnonzero(test.chain_id == "1ftpB")[0])
    chain = test[index]
    members = databases.same_cluster(chain.chain_id)
    database = find_database("default")
    parameters = SearchParameters()

    def hits(exclude: frozenset[str]) -> set[str]:
        result = search(chain.chain_id, chain.sequence, database, parameters, exclude=exclude)
        return {line[1:].split("/")[0] for line in result.a3m.splitlines()[2::2]}

    found = hits(frozenset())
    assert found & members
    assert not hits(members) & members
