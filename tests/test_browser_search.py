"""End to end in headless Chromium: a sequence searched for its MSA, and the page's alignment and
coevolution card. A module of its own: its server (with a database of the test's) never runs beside
the other browser tests' server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browser import OffsiteGuard, chromium, guarded
from foldlens.protein.msa import parse_msa
from foldlens.server.background import background_server
from foldlens.service.examples import example
from test_browser import READY, WAIT, check_drawn, open_input_page
from test_search_jobs import QUERY, family_database


@pytest.fixture
def guarded_page() -> Iterator[tuple[Page, OffsiteGuard, list[str]]]:
    with chromium() as browser, guarded(browser, WAIT) as opened:
        yield opened


def test_search_for_an_msa_and_see_its_coevolution(
    tmp_path: Path, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    """A pasted sequence with its structure, searched in a database holding 40 of its homologs:
    the page shows the MSA's depth and coverage, the profile mode, the coevolution map beside the
    predicted contacts (top L/5 of each against the true contacts) and the strongest couplings;
    and offers the A3M."""

    page, _, errors = guarded_page
    database = family_database(tmp_path, 40)
    with background_server(tmp_path / "server", flags=("--seqdb", str(database))) as base:
        open_input_page(page, base)
        expect(page.get_by_test_id("search-msa")).to_be_enabled()
        page.get_by_test_id("sequence").fill(f">searched\n{QUERY}")
        structure = tmp_path / "2o38B.pdb"
        structure.write_text(example("2o38B").structure())
        page.get_by_test_id("structure-file").set_input_files(structure)
        page.get_by_test_id("search-msa").check()
        page.get_by_test_id("predict").click()
        page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}"))
        page.wait_for_selector(READY)
        summary = page.get_by_test_id("msa-summary")
        expect(summary).to_contain_text("searched in")
        expect(summary).to_contain_text("profile (from the alignment)")
        expect(page.get_by_test_id("msa-why")).to_contain_text("reads the searched MSA's profile")
        check_drawn(page, "map-couplings")
        check_drawn(page, "msa-coverage")
        expect(page.get_by_test_id("precision-couplings")).to_have_text(re.compile(r"^[01]\.\d\d$"))
        page.get_by_test_id("top-couplings").locator("summary").click()
        expect(page.get_by_test_id("top-couplings").locator("tbody tr")).to_have_count(20)
        with page.expect_download() as info:
            page.get_by_role("link", name="Searched MSA (A3M)").click()
        assert parse_msa(Path(info.value.path()).read_text()).query == QUERY
    assert errors == []
