"""Sequences, alignments, profiles and structures."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import gemmi
import numpy as np
import pytest

from foldlens.models import residue_input
from foldlens.protein.labels import DISTANCE_CENTRES, distance_bins, expected_distance
from foldlens.protein.msa import BACKGROUND, check_query, parse_msa
from foldlens.protein.record import Protein
from foldlens.protein.sequences import check_sequence, parse_fasta, read_fasta
from foldlens.protein.structure import read_structure, structure_name, virtual_cb

EXAMPLES = Path(str(resources.files("foldlens") / "resources" / "examples"))


def examples() -> list[dict[str, str]]:
    return json.loads((EXAMPLES / "examples.json").read_text())


def test_fasta_records() -> None:
    records = parse_fasta(">a first one\nMKT\nAYI\n\n>b\nggk\n")
    assert [(r.id, r.description, r.sequence) for r in records] == [
        ("a", "first one", "MKTAYI"),
        ("b", "", "GGK"),
    ]
    assert parse_fasta("MKT AYI\n")[0].id == "query"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no sequence"),
        (">a\n", "empty"),
        (">a\nMKTZ", "'Z' at position 4"),
        (">a\nMK\n>a\nMK", "appears twice"),
        (">a\n" + "A" * 1001, "1001 residues; the limit is 1000"),
    ],
)
def test_fasta_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fasta(text)


def test_genbank_numbered_pastes_and_a_final_stop_are_read_as_meant() -> None:
    genbank = "        1 mktayiakqr qisfvkshfs\n       21 rqleerlg*\n"
    assert check_sequence(genbank) == "MKTAYIAKQRQISFVKSHFSRQLEERLG"
    assert parse_fasta(">p\n" + genbank)[0].sequence == "MKTAYIAKQRQISFVKSHFSRQLEERLG"
    embl = "     MKTAYIAKQR QISFVKSHFS        20\n     RQLEERLG                     28\n"
    assert check_sequence(embl) == "MKTAYIAKQRQISFVKSHFSRQLEERLG"
    with pytest.raises(ValueError, match="'1' at position 4"):  # a digit among letters: a typo
        check_sequence("MKT1AYI")
    with pytest.raises(ValueError, match="only numbers"):
        check_sequence("12 345")


@pytest.mark.parametrize(
    ("sequence", "words"),
    [
        ("MKTXAY", "'X' at position 4: an unknown amino acid"),
        ("MKTBAY", "'B' at position 4: ambiguous (D or N)"),
        ("MKTZAY", "'Z' at position 4: ambiguous (E or Q)"),
        ("MKTJAY", "'J' at position 4: ambiguous (I or L)"),
        ("MKTUAY", "'U' at position 4: selenocysteine"),
        ("MKTOAY", "'O' at position 4: pyrrolysine"),
        ("MKT*AY", "'*' at position 4: a stop codon"),
        ("MKT-AY", "'-' at position 4: a gap"),
        ("MKT#AY", "'#' at position 4: not one of the 20 standard amino acids"),
        ("atggcgtgcaaagctgcaacgttgca", "looks like DNA or RNA"),
        ("AUGGCGUGCAAAGCUGCAACGUUGCA", "looks like DNA or RNA"),
        ("ACGTNACGTNACGTACGTACGTAAAC", "looks like DNA or RNA"),
    ],
)
def test_letters_outside_the_20_are_refused_with_what_they_mean(sequence: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        check_sequence(sequence)


def test_short_or_mixed_sequences_of_nucleotide_letters_are_proteins() -> None:
    assert check_sequence("GATTACA" * 2) == "GATTACA" * 2  # under 20 letters
    assert check_sequence("ACGT" * 5 + "K") == "ACGT" * 5 + "K"  # a letter DNA does not have
    assert check_sequence("ACGTN" * 2 + "N" * 10) == "ACGTN" * 2 + "N" * 10  # mostly N
    assert check_sequence("GA" * 15) == "GA" * 15  # two letters: a repeat, not a gene


def test_a_bad_record_does_not_hide_the_good_ones() -> None:
    records, problems = read_fasta(">good\nMKTAY\n>bad\nMKXAY\n>also\nGGKV\n>good\nMK\n")
    assert [record.id for record in records] == ["good", "also"]
    assert len(problems) == 2
    assert "record 'bad' has 'X' at position 3" in problems[0]
    assert "'good' appears twice" in problems[1]
    with pytest.raises(ValueError, match="record 'bad'"):
        parse_fasta(">good\nMKTAY\n>bad\nMKXAY\n")


def test_long_record_names_are_cut() -> None:
    name = parse_fasta(">" + "n" * 500 + "\nMKT\n")[0].id
    assert len(name) == 80 and name.endswith("…")


@pytest.mark.parametrize(
    ("stem", "chain", "name"),
    [
        ("1k61", "C", "1k61C"),
        ("1k61C", "C", "1k61C"),
        ("1K61_C", "C", "1K61C"),
        ("1k61B", "C", "1k61B_C"),
        ("AF-P69905-F1-model_v4", "A", "AF-P69905-F1-model_v4_A"),
        ("", "A", "structure_A"),
    ],
)
def test_structure_names(stem: str, chain: str, name: str) -> None:
    assert structure_name(stem, chain) == name


def test_check_sequence_limit_is_configurable() -> None:
    assert check_sequence("a" * 20, max_length=20) == "A" * 20
    with pytest.raises(ValueError, match="limit is 10"):
        check_sequence("A" * 11, max_length=10)


A3M = ">query\nMKTAYIAK\n>s1\nMKTaaAYIAK\n>s2\n-KSAYL-K\n>s3\nMRTAYIAR\n"
ALIGNED = ">query\nMKT--AYIAK\n>s1\nMKTAAAYIAK\n>s2\n-KS--AYL-K\n>s3\nMRT--AYIAR\n"
STOCKHOLM = (
    "# STOCKHOLM 1.0\n#=GF ID test\n"
    "query MKT--AYI\ns1    MKTAAAYI\ns2    -KS--AYL\ns3    MRT--AYI\n\n"
    "query AK\ns1    AK\ns2    -K\ns3    AR\n//\n"
)


def test_three_formats_give_one_alignment() -> None:
    alignments = [parse_msa(text) for text in (A3M, ALIGNED, STOCKHOLM)]
    for alignment in alignments:
        assert alignment.ids == ["query", "s1", "s2", "s3"]
        assert alignment.rows == ["MKTAYIAK", "MKTAYIAK", "-KSAYL-K", "MRTAYIAR"]
    check_query(alignments[0], "MKTAYIAK")
    with pytest.raises(ValueError, match="not the query"):
        check_query(alignments[0], "MKTAYIAR")


def test_msa_errors() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        parse_msa(">q\nMKT\n>s\nMK\n")
    with pytest.raises(ValueError, match="'1' at column 2"):
        parse_msa(">q\nMKT\n>s\nM1T\n")
    with pytest.raises(ValueError, match="start with a '>'"):
        parse_msa("MKT\n>s\nMKT\n")


def test_profile_weights_and_pseudocounts() -> None:
    """Two identical rows share one weight; the third counts fully (identity 1/3 < 0.8)."""
    alignment = parse_msa(">q\nMKA\n>s\nMKA\n>t\nMEC\n")
    profile = alignment.profile()
    weights = {"q": 0.5, "s": 0.5, "t": 1.0}
    index = {aa: i for i, aa in enumerate("ARNDCQEGHILKMFPSTWYV")}
    for column in range(3):
        counts = np.zeros(20)
        for name, row in zip(alignment.ids, alignment.rows, strict=True):
            counts[index[row[column]]] += weights[name]
        n = counts.sum()
        want = (counts + BACKGROUND) / (n + 1.0)
        np.testing.assert_allclose(profile[column], want, rtol=1e-5)
        assert profile[column].sum() == pytest.approx(1.0, abs=1e-5)


def test_features() -> None:
    single = residue_input.encode(Protein("MKA"))[0]
    assert single.shape == (41, 3) and single[:20].sum() == 3 and single[20:].sum() == 0
    profile = np.full((3, 20), 0.05)
    with_profile = residue_input.encode(Protein("MKA", profile))[0]
    assert with_profile[40].tolist() == [1, 1, 1] and with_profile[20:40].sum() == pytest.approx(3)
    with pytest.raises(ValueError, match="expected \\(3, 20\\)"):
        residue_input.encode(Protein("MKA", np.zeros((2, 20))))


def test_distance_bins_and_expectation() -> None:
    import torch

    d = torch.tensor([0.0, 2.49, 2.5, 3.2, 19.99, 20.0, 55.0])
    assert distance_bins(d).tolist() == [0, 0, 1, 2, 35, 36, 36]
    logits = torch.full((37,), -1e4)
    logits[10] = 0.0
    assert float(expected_distance(logits, dim=0)) == pytest.approx(float(DISTANCE_CENTRES[10]))


@pytest.mark.parametrize("example", examples(), ids=lambda e: e["id"])
def test_example_structures(example: dict[str, str]) -> None:
    backbone = read_structure((EXAMPLES / example["structure"]).read_text())
    assert backbone.sequence == example["sequence"]
    maps = backbone.distance_maps()
    ca_ca = maps["dist_ca_ca"]
    assert (np.abs(np.diag(ca_ca, 1) - 3.8) < 0.3).mean() > 0.95
    np.testing.assert_allclose(maps["dist_ca_cb"], maps["dist_cb_ca"].T, atol=1e-4)
    assert dssp_agreement(backbone.secondary_structure(), example["dssp"]) > 0.8


def dssp_agreement(assigned: str, stored_dssp8: str) -> float:
    three = stored_dssp8.translate(str.maketrans("HGIEBTSC", "HHHEECCC"))
    return float(np.mean([a == b for a, b in zip(assigned, three, strict=True)]))


def test_dssp_agrees_with_the_database_labels() -> None:
    """pydssp on the written backbones against ProMod3's stored DSSP, over all examples."""
    assigned = agree = 0
    for example in examples():
        backbone = read_structure((EXAMPLES / example["structure"]).read_text())
        agree += dssp_agreement(backbone.secondary_structure(), example["dssp"]) * len(backbone)
        assigned += len(backbone)
    assert agree / assigned > 0.9


def test_mmcif_reads_like_pdb() -> None:
    text = (EXAMPLES / examples()[0]["structure"]).read_text()
    structure = gemmi.read_pdb_string(text)
    structure.setup_entities()
    cif = structure.make_mmcif_document().as_string()
    from_pdb, from_cif = read_structure(text), read_structure(cif)
    assert from_cif.sequence == from_pdb.sequence
    np.testing.assert_allclose(from_cif.cb, from_pdb.cb, atol=1e-3)


def test_virtual_cb_geometry() -> None:
    backbone = read_structure((EXAMPLES / examples()[1]["structure"]).read_text())
    cb = virtual_cb(backbone.n, backbone.ca, backbone.c)
    bond = np.linalg.norm(cb - backbone.ca, axis=1)
    assert np.all(np.abs(bond - 1.53) < 0.1)
    glycines = [i for i, aa in enumerate(backbone.sequence) if aa == "G"]
    np.testing.assert_allclose(backbone.cb[glycines], cb[glycines], atol=1e-5)


def test_structure_errors() -> None:
    text = (EXAMPLES / examples()[0]["structure"]).read_text()
    broken = "\n".join(
        line
        for line in text.splitlines()
        if not (line[12:16].strip() == "C" and line[22:26].strip() == "5")
    )
    with pytest.raises(ValueError, match="lacks its backbone atom C"):
        read_structure(broken)
    water = "HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00  0.00           O\nEND\n"
    with pytest.raises(ValueError, match="no protein chain"):
        read_structure(water)
    with pytest.raises(ValueError, match="no chain 'Q'"):
        read_structure(text, chain="Q")
    with pytest.raises(ValueError, match="limit is 10"):
        read_structure(text, max_length=10)
