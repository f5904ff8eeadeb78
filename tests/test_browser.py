"""End to end: the real server and the real page in headless Chromium.

The page is driven as a person would: Example Sequence, Predict, wait, hover, reload, download.
Pixels are read from screenshots, so an empty canvas fails the test; any request that leaves
127.0.0.1 fails it too.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from browser import OffsiteGuard, chromium, guarded, image_spread
from downloads import parse_file
from foldlens.server.background import background_server
from polling import DEADLINE
from schema import SCHEMA

MAPS = ("dist_ca_ca", "dist_ca_cb", "dist_cb_ca", "dist_cb_cb", "contact")
READY = "body[data-ready='true']"
INPUT_READY = "body[data-input-ready='true']"

WAIT = int(DEADLINE * 1000)
"""Milliseconds any wait for the page may take: only a hang runs into it (nothing here is timed)."""
expect.set_options(timeout=WAIT)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with background_server(tmp_path_factory.mktemp("browser")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def guarded_page(browser: Browser) -> Iterator[tuple[Page, OffsiteGuard, list[str]]]:
    with guarded(browser, WAIT) as opened:
        yield opened


def check_drawn(page: Page, testid: str, min_spread: float = 0.04) -> None:
    element = page.get_by_test_id(testid)
    element.scroll_into_view_if_needed()
    spread = image_spread(element.screenshot())
    assert spread > min_spread, f"{testid} looks blank (pixel spread {spread:.3f})"


def parse_download(data: bytes, name: str) -> object:
    parsed = parse_file(data, Path(name).suffix.lstrip("."))
    if name.endswith(".png"):
        assert image_spread(data) > 0.02
    return parsed


def test_example_prediction_end_to_end(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    open_input_page(page, server)
    page.get_by_test_id("example").click()
    sequence_box = page.get_by_test_id("sequence")
    expect(sequence_box).to_have_value(re.compile(r"^>\S+"))
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}"))
    page.wait_for_selector(READY)
    job_url = page.url

    for name in MAPS:
        check_drawn(page, f"map-{name}")
    check_drawn(page, "map-truth")
    check_drawn(page, "map-difference")
    check_drawn(page, "tracks")
    check_drawn(page, "viewer3d")

    heatmap = page.get_by_test_id("map-dist_cb_cb")
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    values = page.get_by_test_id("values")
    expect(values).to_contain_text(re.compile(r"\d+\.\d"))
    expect(values).to_contain_text("Å")

    page.reload()
    page.wait_for_selector(READY)
    assert page.url == job_url
    check_drawn(page, "map-dist_ca_ca")

    links = page.get_by_test_id("downloads").locator("a[href*='/export']")
    count = links.count()
    assert count >= 12
    seen = set()
    for k in range(count):
        link = links.nth(k)
        if not link.is_visible():
            continue
        with page.expect_download() as info:
            link.click()
        download = info.value
        data = Path(download.path()).read_bytes()
        parsed = parse_download(data, download.suggested_filename)
        if download.suggested_filename.endswith("-predictions.json"):
            assert set(parsed) == set(SCHEMA)  # type: ignore[arg-type]
        seen.add(Path(download.suggested_filename).suffix)
    assert seen >= {".npz", ".json", ".csv", ".png", ".svg", ".pdf", ".pdb"}
    assert errors == []


def test_bad_sequence_shows_the_message(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, _ = guarded_page
    open_input_page(page, server)
    page.get_by_test_id("sequence").fill("MKTAYIAKQRQJSFVKSHFSRQ")
    page.get_by_test_id("predict").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("'J' at position 12: ambiguous (I or L)")
    page.get_by_test_id("sequence").fill(">gene\nATGGCGTGCAAAGCTGCAACGTTGCATGA")
    page.get_by_test_id("predict").click()
    expect(error).to_contain_text("looks like DNA or RNA")
    assert "/view/" not in page.url


def test_a_genbank_listing_is_read_as_a_sequence(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    open_input_page(page, server)
    listing = ">my_protein\n        1 mktayiakqr qisfvkshfs rqleerlgli\n       31 evqapilsrv gdg*\n"
    page.get_by_test_id("sequence").fill(listing)
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}"))
    page.wait_for_selector(READY)
    expect(page.locator("h1")).to_have_text("my_protein")
    expect(page.get_by_test_id("tracks")).to_have_attribute(
        "data-columns", re.compile(r'"count":43')
    )
    assert errors == []


def test_pasted_sequence_without_structure(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    open_input_page(page, server)
    page.get_by_test_id("sequence").fill(
        ">pasted\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"
    )
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}\?submission=[0-9a-f]{32}"))
    page.wait_for_selector(READY)
    check_drawn(page, "map-contact")
    check_drawn(page, "tracks")
    assert (
        page.get_by_test_id("viewer3d").count() == 0
        or not page.get_by_test_id("viewer3d").is_visible()
    )
    expect(page.locator("h1")).to_have_text("pasted")  # the submitter's own name
    job_url = page.url.split("?")[0]
    others = page.context.new_page()  # the bare link: the shared name, no delete
    others.goto(job_url)
    expect(others.locator("h1")).to_have_text("query")
    assert others.get_by_test_id("delete-job").count() == 0
    others.close()
    assert errors == []
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("delete-job").click()
    page.wait_for_url(f"{server}/")
    page.goto(job_url)  # the submitter's delete took the job: no one else had submitted it
    expect(page.get_by_test_id("error")).to_contain_text("no job")


def test_unknown_job_page(server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]) -> None:
    page, _, _ = guarded_page
    page.goto(f"{server}/view/{'0' * 32}")
    expect(page.get_by_test_id("error")).to_contain_text("no job")


def test_explorer_click_a_cell_compare_methods_and_reload(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    open_input_page(page, server)
    page.get_by_test_id("example").click()
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}"))
    page.wait_for_selector(READY)

    explorer = page.get_by_test_id("explorer")
    explorer.scroll_into_view_if_needed()
    for method in ("gradient", "guided_backprop"):
        expect(page.get_by_test_id(f"method-{method}")).to_be_checked()
    viewer = page.get_by_test_id("viewer3d")
    viewer.scroll_into_view_if_needed()
    before_3d = viewer.screenshot()

    heatmap = page.get_by_test_id("map-dist_cb_cb")
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.7)
    expect(page.get_by_test_id("target-description")).to_contain_text("distance for i = ")
    for method in ("gradient", "guided_backprop"):
        page.wait_for_selector(f"[data-testid='panel-{method}'][data-state='ready']")
        check_drawn(page, f"panel-map-{method}")
    gradient = page.get_by_test_id("panel-map-gradient").screenshot()
    guided = page.get_by_test_id("panel-map-guided_backprop").screenshot()
    assert gradient != guided, "two methods drew the same picture"

    page.get_by_test_id("colour-3d").select_option(index=1)
    page.wait_for_timeout(500)
    viewer.scroll_into_view_if_needed()
    assert viewer.screenshot() != before_3d, "colouring 3D by the attribution changed nothing"

    explained_url = page.url
    assert "?" in explained_url
    page.reload()
    page.wait_for_selector("[data-testid='panel-guided_backprop'][data-state='ready']")
    expect(page.get_by_test_id("target-description")).to_contain_text("distance for i = ")
    assert page.url == explained_url

    links = page.get_by_test_id("panel-exports-guided_backprop").locator("a")
    suffixes = set()
    for k in range(links.count()):
        with page.expect_download() as info:
            links.nth(k).click()
        download = info.value
        name = download.suggested_filename
        data = Path(download.path()).read_bytes()
        parse_download(data, name)
        suffixes.add(Path(name).suffix)
    assert suffixes >= {".png", ".svg", ".pdf", ".npz", ".csv", ".json", ".pdb", ".pml"}
    assert errors == []


def open_input_page(page: Page, server: str) -> None:
    """Open the input page and wait until it has the server's models and examples (before, the
    Example button is disabled)."""
    page.goto(server)
    page.wait_for_selector(INPUT_READY)


def open_example_job(page: Page, server: str, model: str | None = None) -> None:
    """Predict the first example (with `model`, else the default) and wait for the result page."""
    open_input_page(page, server)
    if model is not None:
        page.get_by_test_id("model").select_option(model)
    page.get_by_test_id("example").click()
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}"))
    page.wait_for_selector(READY)


ExampleJob = tuple[Page, list[str]]


@pytest.fixture
def example_job(server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]) -> ExampleJob:
    """The page of the first example's prediction (default model), and its console errors."""
    page, _, errors = guarded_page
    open_example_job(page, server)
    return page, errors


def goto_target(page: Page, target: str) -> None:
    """Reload the job's page with only `target` in the URL."""
    page.goto(f"{page.url.split('?')[0]}?target={target}")


def click_map_cell(page: Page, testid: str, x: float, y: float) -> None:
    heatmap = page.get_by_test_id(testid)
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)


def wait_ready(page: Page, method: str, inner: str = "") -> None:
    """Wait until the method's panel is drawn (and holds the figure `inner`, when given)."""
    selector = f"[data-testid='panel-{method}'][data-state='ready']"
    if inner:
        selector += f" [data-testid='{inner}']"
    page.wait_for_selector(selector)


def not_a_refusal(message: str) -> bool:
    """Chromium logs every 4xx answer as a console error; the page shows those answers itself."""
    return "status of 400" not in message


def test_explorer_attributes_to_a_layer_and_reload(example_job: ExampleJob) -> None:
    page, errors = example_job
    choice = page.get_by_test_id("attribute-to")
    choice.scroll_into_view_if_needed()
    expect(choice).to_have_value("")
    choice.select_option("trunk2d.3.conv1")
    assert "wrt=trunk2d.3.conv1" in page.url

    click_map_cell(page, "map-dist_cb_cb", 0.25, 0.7)
    description = page.get_by_test_id("target-description")
    expect(description).to_contain_text("attributed to the input of layer trunk2d.3.conv1")
    for method in ("gradient", "guided_backprop"):
        wait_ready(page, method, f"panel-pair-{method}")
        check_drawn(page, f"panel-pair-{method}")
        check_drawn(page, f"panel-track-{method}")
        exports = page.get_by_test_id(f"panel-exports-{method}")
        expect(exports.locator("a[href*='what=figure']")).to_have_count(3)
        expect(exports.locator("a[href*='what=logo']")).to_have_count(0)
    gradient = page.get_by_test_id("panel-pair-gradient").screenshot()
    guided = page.get_by_test_id("panel-pair-guided_backprop").screenshot()
    assert gradient != guided, "two methods drew the same pair map"

    explained_url = page.url
    page.reload()
    wait_ready(page, "guided_backprop", "panel-pair-guided_backprop")
    assert page.url == explained_url
    expect(page.get_by_test_id("attribute-to")).to_have_value("trunk2d.3.conv1")
    expect(description).to_contain_text("attributed to the input of layer trunk2d.3.conv1")
    check_drawn(page, "panel-pair-guided_backprop")

    page.get_by_test_id("attribute-to").select_option("trunk1d.3.conv1")
    wait_ready(page, "gradient", "panel-map-gradient")
    expect(description).to_contain_text("attributed to the input of layer trunk1d.3.conv1")
    check_drawn(page, "panel-map-gradient")
    map_box = page.get_by_test_id("panel-map-gradient").bounding_box()
    assert map_box is not None and map_box["height"] > 400, "128 channels need a tall map"

    url = re.sub(r"target=[^&]+", "target=ss3:H:12", page.url)
    page.goto(re.sub(r"wrt=[^&]+", "wrt=trunk2d.3.conv1", url))
    page.wait_for_selector("[data-testid='panel-gradient'][data-state='failed']")
    expect(page.get_by_test_id("state-gradient")).to_contain_text(
        "does not depend on the input of layer trunk2d.3.conv1"
    )
    assert list(filter(not_a_refusal, errors)) == []


def test_influence_overview_opens_a_row_in_the_explorer(example_job: ExampleJob) -> None:
    page, errors = example_job
    overview = page.get_by_test_id("overview")
    overview.scroll_into_view_if_needed()
    page.get_by_test_id("overview-head").select_option("ss3")
    page.get_by_test_id("overview-class").select_option("H")
    page.get_by_test_id("overview-method").select_option("gradient")
    page.get_by_test_id("overview-run").click()
    page.wait_for_selector("[data-testid='overview-map'][data-state='ready']")
    check_drawn(page, "overview-map")
    assert "overview=ss3:H:gradient" in page.url

    click_map_cell(page, "overview-map", 0.6, 0.4)
    page.wait_for_url(re.compile(r"target=ss3:H:\d+"))
    residue = re.search(r"target=ss3:H:(\d+)", page.url)
    assert residue is not None
    description = page.get_by_test_id("target-description")
    expect(description).to_contain_text("class H")
    expect(description).to_contain_text(re.compile(rf"[A-Z]{residue.group(1)}\b"))
    for method in ("gradient", "guided_backprop"):
        wait_ready(page, method, f"panel-map-{method}")
        check_drawn(page, f"panel-map-{method}")

    page.reload()
    page.wait_for_selector("[data-testid='overview-map'][data-state='ready']")
    check_drawn(page, "overview-map")
    expect(page.get_by_test_id("overview-head")).to_have_value("ss3")
    wait_ready(page, "gradient", "panel-map-gradient")
    expect(description).to_contain_text("class H")
    assert errors == []


def test_seed2018_state_pair_grid(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    open_example_job(page, server, model="seed2018")
    page.get_by_test_id("attribute-to").select_option("conv1")
    click_map_cell(page, "map-dist_cb_cb", 0.3, 0.7)
    wait_ready(page, "gradient", "panel-grid-gradient")
    expect(page.get_by_test_id("target-description")).to_contain_text("layer conv1")
    check_drawn(page, "panel-pair-gradient")
    check_drawn(page, "panel-grid-gradient")
    check_drawn(page, "panel-grid-gradient-window")
    intro = page.get_by_test_id("explorer-intro").inner_text()
    assert "Click a cell of a distance map or pick an internal unit below." in intro
    assert not any(other in intro for other in ("contact", "SS3", "overview"))  # it has none
    expect(page.get_by_test_id("panel-grid-gradient-gap")).to_contain_text("gap/unknown state")

    grid = page.get_by_test_id("panel-grid-gradient")
    wide = grid.bounding_box()
    assert wide is not None and wide["width"] >= 600  # the grid's panel takes the row's width
    title = page.locator("[data-testid='panel-gradient'] .state-grid__title")
    enlarged = page.get_by_test_id("panel-grid-gradient-window")
    shown = []
    for a, b, pair in ((0, 0, "A_i × A_j"), (1, 2, "R_i × N_j")):
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box is not None
        # 21 × 21 square windows 2 px apart, after 16 px of state labels on the left, 14 on top.
        step = (box["width"] - 16 - 2 - 20 * 2) / 21 + 2
        page.mouse.click(box["x"] + 16 + (b + 0.4) * step, box["y"] + 14 + (a + 0.4) * step)
        expect(title).to_contain_text(pair)
        page.wait_for_timeout(100)
        shown.append(enlarged.screenshot())
    assert shown[0] != shown[1], "clicking a window did not enlarge it"
    assert "statepair=R,N" in page.url

    pair_map = page.get_by_test_id("panel-pair-gradient")
    pair_map.scroll_into_view_if_needed()
    zoomed = pair_map.screenshot()
    page.get_by_test_id("pair-whole-gradient").check()
    assert "pairmap=whole" in page.url
    page.wait_for_timeout(100)
    assert pair_map.screenshot() != zoomed, "the whole map looks like the zoomed one"

    page.reload()
    wait_ready(page, "gradient", "panel-grid-gradient")
    expect(title).to_contain_text("R_i × N_j")
    expect(page.get_by_test_id("pair-whole-gradient")).to_be_checked()
    assert errors == []


def test_layer_choice_disables_methods_that_cannot_attribute_to_it(example_job: ExampleJob) -> None:
    page, errors = example_job
    page.get_by_test_id("method-occlusion").check()
    choice = page.get_by_test_id("attribute-to")
    choice.scroll_into_view_if_needed()
    choice.select_option("trunk1d.3.conv1")
    for method in ("occlusion", "mutagenesis"):
        expect(page.get_by_test_id(f"method-{method}")).to_be_disabled()
        expect(page.get_by_test_id(f"method-reason-{method}")).to_be_visible()
    expect(page.get_by_test_id("method-gradient")).to_be_enabled()
    expect(page.get_by_test_id("method-reason-gradient")).to_be_hidden()

    # Without a target nothing is explained yet, so occlusion does not run for the model input.
    choice.select_option("")
    expect(page.get_by_test_id("method-occlusion")).to_be_enabled()
    expect(page.get_by_test_id("method-occlusion")).to_be_checked()

    choice.select_option("trunk1d.3.conv1")
    click_map_cell(page, "map-dist_cb_cb", 0.25, 0.7)
    wait_ready(page, "gradient", "panel-map-gradient")
    expect(page.get_by_test_id("panel-occlusion")).to_have_count(0)
    assert "occlusion" in page.url, "the checked method stays in the URL for the model input"
    assert errors == []


def click_track(page: Page, head: str, k: int) -> None:
    """Click residue k (0-based) of the track row of ``head``."""
    tracks = page.get_by_test_id("tracks")
    tracks.scroll_into_view_if_needed()
    rows = json.loads(tracks.get_attribute("data-rows") or "[]")
    columns = json.loads(tracks.get_attribute("data-columns") or "{}")
    row = next(row for row in rows if row.get("head") == head)
    box = tracks.bounding_box()
    assert box is not None
    cell = (box["width"] - columns["left"] - columns["right"]) / columns["count"]
    x = box["x"] + columns["left"] + (k + 0.5) * cell
    page.mouse.click(x, box["y"] + row["top"] + row["height"] / 2)


def test_click_a_residue_of_the_ss3_track(example_job: ExampleJob) -> None:
    page, errors = example_job
    k = 20
    click_track(page, "ss3", k)

    page.wait_for_url(re.compile(rf"target=ss3:[A-Z]:{k + 1}(&|$)"))
    expect(page.get_by_test_id("target-description")).to_contain_text(f"{k + 1}")
    for method in ("gradient", "deconvnet", "guided_backprop"):
        wait_ready(page, method, f"panel-map-{method}")
        check_drawn(page, f"panel-map-{method}")
    assert errors == []


@pytest.mark.parametrize("model", ["reprof", "predictdssp"])
def test_outside_model_result_page_and_explanations(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]], model: str
) -> None:
    """reprof and PredictDSSP are selectable; their page shows what they predict (3-state
    secondary structure, no maps), and a residue of the track is explained by the three rule
    methods, the two without an exact rule for these networks marked approximate, with why."""
    page, _, errors = guarded_page
    open_example_job(page, server, model)
    expect(page.get_by_test_id("map-dist_cb_cb")).to_have_count(0)
    tracks = page.get_by_test_id("tracks")
    tracks.scroll_into_view_if_needed()
    rows = json.loads(tracks.get_attribute("data-rows") or "[]")
    assert [row["head"] for row in rows if row["head"]] == ["ss3"]
    goto_target(page, "ss3:H:21")
    page.wait_for_selector(READY)
    for method in ("gradient", "deconvnet", "guided_backprop"):
        wait_ready(page, method, f"panel-map-{method}")
        check_drawn(page, f"panel-map-{method}")
        badge = page.get_by_test_id(f"panel-{method}").locator(".badge--approximate")
        if method == "gradient":
            expect(badge).to_have_count(0)
        else:
            expect(badge).to_have_count(1)
            assert "no exact rule for" in (badge.get_attribute("title") or "")
    assert [e for e in errors if not_a_refusal(e)] == []


def run_analysis(page: Page, name: str, options: dict[str, str | list[str]]) -> None:
    """Choose analysis `name` in the explorer, set `options` (lists: the boxes to check), run it."""
    section = page.get_by_test_id("analyses")
    section.scroll_into_view_if_needed()
    page.get_by_test_id("analysis-choice").select_option(name)
    for option, value in options.items():
        if isinstance(value, list):
            boxes = section.locator(f"[data-testid='analysis-option-{option}'] input")
            for k in range(boxes.count()):
                boxes.nth(k).set_checked(boxes.nth(k).get_attribute("value") in value)
        else:
            field = page.get_by_test_id(f"analysis-option-{option}")
            if field.evaluate("element => element.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
    page.get_by_test_id("analysis-run").click()


def download(page: Page, testid: str) -> object:
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    item = info.value
    return parse_download(Path(item.path()).read_bytes(), item.suggested_filename)


VERDICTS = ("depends on the weights", "partly", "barely changes")


def test_randomization_analysis_verdicts_exports_and_reload(example_job: ExampleJob) -> None:
    page, errors = example_job
    goto_target(page, "ss3:H:12")
    expect(page.get_by_test_id("analysis-run")).to_be_enabled()
    run_analysis(page, "randomization", {"methods": ["gradient", "guided_backprop"]})

    card = "[data-testid='analysis-card-randomization']"
    page.wait_for_selector(f"{card}[data-state='ready']")
    check_drawn(page, "analysis-chart-randomization")
    for method in ("gradient", "guided_backprop"):
        verdict = page.get_by_test_id(f"analysis-verdict-{method}")
        assert any(phrase in verdict.inner_text() for phrase in VERDICTS)
        wait_ready(page, method)
        badge = page.get_by_test_id(f"panel-verdict-{method}")
        assert badge.get_attribute("data-verdict") == verdict.get_attribute("data-verdict")
    expect(page.get_by_test_id("analysis-verdict-deconvnet")).to_have_count(0)
    assert "analysis=randomization" in page.url
    assert "aoptions=methods:gradient+guided_backprop" in page.url

    download(page, "analysis-export-randomization-png")
    document = download(page, "analysis-export-randomization-json")
    assert isinstance(document, dict)
    assert set(document["verdicts"]) == {"gradient", "guided_backprop"}  # type: ignore[index]
    for method, steps in document["similarities"].items():  # type: ignore[index]
        # the rule written in the README, from the curve the chart draws
        rhos = [step["spearman_absolute"] for step in steps]
        survived = sum(rho > 0.8 for rho in rhos)
        share = survived / len(rhos)
        expected = (
            "barely changes" if share >= 0.5 or rhos[-1] > 0.8
            else "depends on the weights" if share < 0.25 and rhos[-1] < 0.5
            else "partly"
        )  # fmt: skip
        verdict = page.get_by_test_id(f"analysis-verdict-{method}")
        assert verdict.get_attribute("data-verdict") == expected
        words = verdict.locator("xpath=..").inner_text()
        assert f"stays above 0.8 for {survived} of the {len(rhos)} layers" in words
        assert f"with all randomized ρ is {rhos[-1]:.2f}" in words

    analysed_url = page.url
    page.reload()
    page.wait_for_selector(f"{card}[data-state='ready']")
    assert page.url == analysed_url
    expect(page.get_by_test_id("analysis-option-methods-deconvnet")).not_to_be_checked()
    check_drawn(page, "analysis-chart-randomization")
    assert errors == []


def test_cancel_a_long_analysis(example_job: ExampleJob) -> None:
    page, errors = example_job
    goto_target(page, "contact:8,40")
    # Every predicted pair is one more map; the task checks for a cancel between them.
    run_analysis(page, "aa_patterns", {"methods": ["gradient", "guided_backprop"], "pairs": "256"})
    card = page.get_by_test_id("analysis-card-aa_patterns")
    expect(card).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("analysis-state-aa_patterns")).to_contain_text(
        re.compile(r"Running · \d+ %")
    )
    page.get_by_test_id("analysis-cancel").click()
    expect(card).to_have_attribute("data-state", "cancelled")
    expect(page.get_by_test_id("analysis-cancel")).to_have_count(0)
    assert "analysis=" not in page.url, "a reload would start the cancelled analysis again"
    assert errors == []


def test_analysis_option_out_of_range_shows_the_server_message(example_job: ExampleJob) -> None:
    page, errors = example_job
    analyses = page.get_by_test_id("analyses")
    analyses.scroll_into_view_if_needed()
    expect(page.get_by_test_id("analyses-hint")).to_contain_text("Pick a target first")
    expect(page.get_by_test_id("analysis-run")).to_be_disabled()

    goto_target(page, "ss3:E:30")
    run_analysis(page, "deletion", {"steps": "1000"})
    expect(page.get_by_test_id("analysis-error")).to_contain_text("steps = 1000 is outside")
    expect(page.get_by_test_id("analysis-card-deletion")).to_have_count(0)
    assert "analysis=" not in page.url
    assert list(filter(not_a_refusal, errors)) == []


def test_the_3d_model_with_its_confidence_linked_to_the_expected_error_map(
    example_job: ExampleJob,
) -> None:
    """The example (with its structure): the pLDDT track and the expected-error map are there at
    once; the 3D model is built when asked for, scored against the known structure, coloured by
    pLDDT bands; dragging across the expected-error map picks residues in 3D; a shared link opens
    the model again; its PDB downloads."""
    page, errors = example_job
    rows = json.loads(page.get_by_test_id("tracks").get_attribute("data-rows") or "[]")
    assert "plddt" in {row.get("head") for row in rows}
    check_drawn(page, "pae-map")
    expect(page.get_by_test_id("viewer3d")).to_have_count(1)  # the known structure's only
    page.get_by_test_id("build-model3d").click()
    status = page.get_by_test_id("model3d-status")
    expect(status).to_contain_text(re.compile(r"TM-score 0\.\d{3}, lDDT 0\.\d{3}"))
    expect(page.get_by_test_id("viewer3d")).to_have_count(2)
    model_view = page.get_by_test_id("model3d").get_by_test_id("viewer3d")
    expect(page.get_by_test_id("plddt-legend")).to_contain_text("very high (≥ 90)")
    assert image_spread(model_view.screenshot()) > 0.04

    pae = page.get_by_test_id("pae-map")
    pae.scroll_into_view_if_needed()
    box = pae.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("pae-region")).to_contain_text(
        re.compile(r"Residues \d+–\d+ × \d+–\d+")
    )
    assert int(model_view.get_attribute("data-emphasized") or "0") > 0

    assert "model3d=1" in page.url
    page.reload()
    page.wait_for_selector(READY)
    expect(status).to_contain_text("TM-score")  # the link opens the model, built already
    with page.expect_download() as info:
        page.get_by_role("link", name="3D model (PDB)").click()
    pdb = Path(info.value.path()).read_text()
    assert pdb.startswith("ATOM") and " CA " in pdb
    assert errors == []


def test_explain_the_confidence_of_a_residue_and_of_a_pair(example_job: ExampleJob) -> None:
    """The pLDDT track and the expected-error map are explanation targets like the heads."""
    page, errors = example_job
    k = 14
    click_track(page, "plddt", k)
    page.wait_for_url(re.compile(rf"target=plddt:{k + 1}(&|$)"))
    expect(page.get_by_test_id("target-description")).to_contain_text("predicted lDDT")
    wait_ready(page, "guided_backprop", "panel-map-guided_backprop")
    check_drawn(page, "panel-map-guided_backprop")

    click_map_cell(page, "pae-map", 0.3, 0.7)
    page.wait_for_url(re.compile(r"target=pae:\d+,\d+(&|$)"))
    expect(page.get_by_test_id("target-description")).to_contain_text("expected error")
    wait_ready(page, "gradient", "panel-map-gradient")
    assert errors == []


def open_single_sequence_job(page: Page, server: str, query: str = "") -> str:
    """Predict a pasted sequence (single-sequence mode: no profile); open its page with ``query``
    added to the URL; the job's id."""
    open_input_page(page, server)
    page.get_by_test_id("sequence").fill(">single\n" + SINGLE)
    page.get_by_test_id("predict").click()
    page.wait_for_url(re.compile(r"/view/[0-9a-f]{32}\?submission=[0-9a-f]{32}"))
    page.wait_for_selector(READY)
    if query:
        page.goto(f"{page.url}&{query}")
        page.wait_for_selector(READY)
    return page.url.split("/view/")[1][:32]


SINGLE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def _explained(server: str, job: str, body: dict) -> dict:
    """The explanations of ``body`` through the API (answered from the page's cached results)."""
    request = urllib.request.Request(
        f"{server}/api/jobs/{job}/explain",
        data=json.dumps({**body, "wait": 10}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["results"]  # type: ignore[no-any-return]


def _top_names(page: Page, method: str) -> list[str]:
    table = page.get_by_test_id(f"panel-top-{method}")
    return [name.strip() for name in table.locator("tbody th").all_inner_texts()]


def test_absent_profile_rows_are_greyed_and_left_out_of_sums_and_rankings(
    server: str, guarded_page: tuple[Page, OffsiteGuard, list[str]]
) -> None:
    page, _, errors = guarded_page
    job = open_single_sequence_job(page, server, "target=dist_cb_cb:10,40&methods=gradient")
    wait_ready(page, "gradient")
    note = page.get_by_test_id("panel-absent-gradient")
    expect(note).to_contain_text("profile, has profile")
    expect(note).to_contain_text("no profile (single-sequence mode)")
    result = _explained(
        server, job, {"target": {"head": "dist_cb_cb", "i": 9, "j": 39}, "methods": ["gradient"]}
    )["gradient"]
    attribution = np.array(result["attribution"], dtype=float)
    present = [k for k, name in enumerate(result["features"]) if name.startswith("one-hot")]
    assert np.abs(attribution[20:]).sum() > 0  # the absent rows do carry gradient
    magnitude = np.abs(attribution[present]).sum(axis=0)
    expected = [f"{SINGLE[k]}{k + 1}" for k in np.argsort(-magnitude, kind="stable")[:10]]
    assert _top_names(page, "gradient") == expected  # ranked on the one-hot rows alone
    counted = [f"{entry['residue']}{entry['index'] + 1}" for entry in result["top"]]
    assert counted != expected  # the profile rows would have changed the ranking

    page.get_by_test_id("absent-gradient").check()
    expect(page.get_by_test_id("panel-top-gradient").locator("tbody th").first).to_have_text(
        counted[0]
    )
    assert _top_names(page, "gradient") == counted  # counted in: the server's own ranking
    assert "absent=include" in page.url
    page.reload()
    wait_ready(page, "gradient")
    expect(page.get_by_test_id("absent-gradient")).to_be_checked()
    assert errors == []


@pytest.mark.parametrize("width", [1400, 390])
def test_method_panels_wrap_into_a_grid_none_cut_off(
    server: str, browser: Browser, width: int
) -> None:
    with guarded(browser, WAIT) as (page, _, errors):
        page.set_viewport_size({"width": width, "height": 900})
        open_single_sequence_job(
            page, server, "target=ss3:H:12&methods=gradient,deconvnet,guided_backprop"
        )
        for method in ("gradient", "deconvnet", "guided_backprop"):
            wait_ready(page, method)
        row = page.locator(".explorer__panels")
        sizes = row.evaluate("row => [row.scrollWidth, row.clientWidth]")
        assert sizes[0] <= sizes[1], "the panels scroll sideways"
        outer = row.bounding_box()
        boxes = [
            page.get_by_test_id(f"panel-{m}").bounding_box()
            for m in ("gradient", "deconvnet", "guided_backprop")
        ]
        assert outer is not None and all(box is not None for box in boxes)
        for box in boxes:
            assert (
                box["x"] >= outer["x"] - 1
                and box["x"] + box["width"] <= outer["x"] + outer["width"] + 1
            )  # type: ignore[index]
        tops = {round(box["y"]) for box in boxes}  # type: ignore[index]
        assert len(tops) == (1 if width == 1400 else 3)  # side by side / one under another
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= width, "the page scrolls sideways"
        assert errors == []


def test_enter_explains_the_cell_or_residue_the_arrow_keys_selected(
    example_job: ExampleJob,
) -> None:
    page, errors = example_job
    intro = page.get_by_test_id("explorer-intro").inner_text()
    assert "Click a cell of a distance, contact or expected-error map" in intro
    assert all(track in intro for track in ("SS3", "SS8", "RSA", "pLDDT", "influence overview"))
    click_map_cell(page, "map-dist_cb_cb", 0.3, 0.6)
    page.wait_for_url(re.compile(r"target=dist_cb_cb:\d+,\d+"))
    i, j = map(int, re.search(r"target=dist_cb_cb:(\d+),(\d+)", page.url).groups())  # type: ignore[union-attr]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert f"target=dist_cb_cb:{i},{j}" in page.url  # moving the selection explains nothing yet
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"target=dist_cb_cb:{i + 1},{j + 1}(&|$)"))
    expect(page.get_by_test_id("target-description")).to_contain_text("distance for i = ")
    wait_ready(page, "gradient")

    k = 20
    click_track(page, "ss3", k)
    page.wait_for_url(re.compile(rf"target=ss3:[A-Z]:{k + 1}(&|$)"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"target=ss3:[HEC]:{k + 2}(&|$)"))  # its predicted class
    wait_ready(page, "gradient")
    assert errors == []


def test_agreement_view_ranks_and_correlates_the_methods(example_job: ExampleJob) -> None:
    from scipy.stats import rankdata, spearmanr

    page, errors = example_job
    methods = ("gradient", "deconvnet", "guided_backprop")
    goto_target(page, "ss3:H:12")
    for method in methods:
        wait_ready(page, method)
    job = page.url.split("/view/")[1][:32]
    server = page.url.split("/view/")[0]
    body = {"target": {"head": "ss3", "i": 11, "class": "H"}, "methods": list(methods)}
    results = _explained(server, job, body)
    magnitudes = np.array([results[m]["residue_magnitude"] for m in methods], dtype=np.float32)
    credited = magnitudes.max(axis=0) > 0  # residues some method credits
    assert credited.sum() > 10
    view = page.get_by_test_id("agreement")
    expect(view).to_be_visible()
    for a, first in enumerate(methods):
        for b, second in enumerate(methods):
            rho = spearmanr(magnitudes[a, credited], magnitudes[b, credited]).statistic
            shown = float(page.get_by_test_id(f"agreement-{first}-{second}").inner_text())
            assert abs(shown - rho) <= 0.0051, (first, second, shown, rho)
    ranks = np.array([rankdata(-row[credited]) for row in magnitudes])
    residues = np.flatnonzero(credited)
    best = residues[np.lexsort((residues, ranks.mean(axis=0)))[0]]
    with urllib.request.urlopen(f"{server}/api/jobs/{job}") as answer:
        sequence = json.load(answer)["sequence"]
    first = page.get_by_test_id("agreement-consensus").locator("tbody th").first
    expect(first).to_have_text(f"{sequence[best]}{best + 1}")
    assert errors == []


def test_a_long_method_shows_its_progress_and_time_left(example_job: ExampleJob) -> None:
    page, errors = example_job
    page.goto(
        f"{page.url.split('?')[0]}?target=dist_cb_cb:20,40&methods=mutagenesis"
        "&options=mutagenesis.window:25"
    )
    expect(page.get_by_test_id("state-mutagenesis")).to_have_text(
        re.compile(r"Running · \d+ % · \d+ (min \d+ )?s elapsed, about \d+ (min \d+ )?s left")
    )
    page.get_by_test_id("cancel-explain").click()
    expect(page.get_by_test_id("panel-mutagenesis")).to_have_attribute("data-state", "cancelled")
    assert errors == []


def _zoom(page: Page, testid: str) -> tuple[int, int, int] | None:
    """The map's window (first row, first column, size; 1-based), None when it shows all."""
    text = page.get_by_test_id(testid).locator("xpath=ancestor::figure").get_attribute("data-zoom")
    return tuple(int(n) for n in text.split(",")) if text else None  # type: ignore[return-value]


def test_maps_zoom_and_pan_together_with_a_minimap(example_job: ExampleJob) -> None:
    page, errors = example_job
    label = page.get_by_test_id("map-dist_cb_cb").get_attribute("aria-label") or ""
    length = int(re.search(r"(\d+) × \d+ residues", label).group(1))  # type: ignore[union-attr]
    heatmap = page.get_by_test_id("map-dist_cb_cb")
    heatmap.scroll_into_view_if_needed()
    box = heatmap.bounding_box()
    assert box is not None and _zoom(page, "map-dist_cb_cb") is None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    for _ in range(4):
        page.mouse.wheel(0, -100)
    page.wait_for_url(re.compile(r"zoom=\d+,\d+,\d+"))
    expect(heatmap.locator("xpath=ancestor::figure")).to_have_attribute(
        "data-zoom", re.compile(r"\d+,\d+,\d+")
    )
    row, column, size = _zoom(page, "map-dist_cb_cb")  # type: ignore[misc]
    assert size < length
    assert _zoom(page, "map-dist_ca_ca") == (row, column, size)  # linked: every map moved
    assert f"zoom={row},{column},{size}" in page.url

    # a click picks the cell under the pointer in the zoomed window: the plot spans `size` cells
    rows = json.loads(heatmap.get_attribute("data-plot") or "{}")
    cell = rows["size"] / size
    page.mouse.click(box["x"] + rows["left"] + 2.5 * cell, box["y"] + rows["top"] + 4.5 * cell)
    page.wait_for_url(re.compile(rf"target=dist_cb_cb:{row + 4},{column + 2}(&|$)"))

    # a drag pans, and the click that ends it picks nothing
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4, steps=5)
    page.mouse.up()
    expect(heatmap.locator("xpath=ancestor::figure")).not_to_have_attribute(
        "data-zoom", f"{row},{column},{size}"
    )
    panned = _zoom(page, "map-dist_cb_cb")
    assert panned is not None and panned[0] > row and panned[1] > column and panned[2] == size
    assert f"target=dist_cb_cb:{row + 4},{column + 2}" in page.url

    # the minimap moves the window to where it is clicked; Reset shows the whole map
    minimap = page.get_by_test_id("map-dist_cb_cb-minimap")
    mini = minimap.bounding_box()
    assert mini is not None
    page.mouse.click(mini["x"] + 2, mini["y"] + 2)
    expect(heatmap.locator("xpath=ancestor::figure")).to_have_attribute("data-zoom", f"1,1,{size}")
    zoomed_url = page.url
    page.reload()
    page.wait_for_selector(READY)
    assert _zoom(page, "map-contact") == (1, 1, size) and page.url == zoomed_url
    page.get_by_test_id("map-contact-zoom-reset").click()
    expect(
        page.get_by_test_id("map-dist_cb_cb").locator("xpath=ancestor::figure")
    ).to_have_attribute("data-zoom", "")
    assert "zoom=" not in page.url
    assert errors == []


def _pixels(png: bytes) -> np.ndarray:
    import io

    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]  # type: ignore[no-any-return]


def _luminance(css: str) -> float:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_mode_follows_the_system_and_keeps_the_colour_maps(
    server: str, browser: Browser
) -> None:
    seen: dict[str, dict[str, object]] = {}
    for scheme in ("light", "dark"):
        with guarded(browser, WAIT) as (page, _, errors):
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            open_example_job(page, server)
            body = page.evaluate(
                "(style => [style.backgroundColor, style.color])(getComputedStyle(document.body))"
            )
            heatmap = page.get_by_test_id("map-dist_cb_cb")
            heatmap.scroll_into_view_if_needed()
            plot = json.loads(heatmap.get_attribute("data-plot") or "{}")
            box = heatmap.bounding_box()
            assert box is not None
            cells = page.screenshot(
                clip={
                    "x": box["x"] + plot["left"] + 4,
                    "y": box["y"] + plot["top"] + 4,
                    "width": 60,
                    "height": 60,
                }
            )
            tracks = page.get_by_test_id("tracks")
            tracks.scroll_into_view_if_needed()
            labels = _pixels(tracks.screenshot())[:, :100]  # the row names in the left gutter
            seen[scheme] = {"page": body, "cells": _pixels(cells), "labels": labels}
            assert errors == []
    light, dark = seen["light"], seen["dark"]
    assert _luminance(light["page"][0]) > 0.8 and _luminance(light["page"][1]) < 0.3  # type: ignore[index]
    assert _luminance(dark["page"][0]) < 0.15 and _luminance(dark["page"][1]) > 0.8  # type: ignore[index]
    # canvas text follows the scheme: dark letters on light, light letters on dark
    assert np.asarray(light["labels"]).mean(axis=-1).min() < 0.35
    dark_labels = np.asarray(dark["labels"]).mean(axis=-1)
    assert dark_labels.max() > 0.7 and np.median(dark_labels) < 0.2
    # the colour map is the data: the same cells have the same colours in both
    np.testing.assert_allclose(np.asarray(light["cells"]), np.asarray(dark["cells"]), atol=2 / 255)


def _hover_residue(page: Page, testid: str, column: int, size: int) -> str:
    """Point at the ``column``-th of the ``size`` residues a panel shows; the tooltip then."""
    canvas = page.get_by_test_id(testid)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    cell = (box["width"] - 64 - 10) / size  # row labels 64 px on the left, 10 px on the right
    page.mouse.move(box["x"] + 64 + (column + 0.5) * cell, box["y"] + box["height"] * 0.6)
    tooltip = page.locator(".tooltip")
    expect(tooltip).to_be_visible()
    return tooltip.inner_text()


def test_panels_zoom_their_residues_together(example_job: ExampleJob) -> None:
    page, errors = example_job
    goto_target(page, "ss3:H:30")
    for method in ("gradient", "guided_backprop"):
        wait_ready(page, method)
    job = page.url.split("/view/")[1][:32]
    with urllib.request.urlopen(f"{page.url.split('/view/')[0]}/api/jobs/{job}") as answer:
        sequence = json.load(answer)["sequence"]
    expect(page.get_by_test_id("residue-zoom-window")).to_contain_text(
        f"All {len(sequence)} residues"
    )
    page.get_by_test_id("residue-zoom-in").click()
    page.get_by_test_id("residue-zoom-in").click()
    page.wait_for_url(re.compile(r"rzoom=\d+,\d+"))
    first, size = map(int, re.search(r"rzoom=(\d+),(\d+)", page.url).groups())  # type: ignore[union-attr]
    assert size < len(sequence)
    expect(page.get_by_test_id("residue-zoom-window")).to_contain_text(
        f"Residues {first}–{first + size - 1} of {len(sequence)}"
    )
    for testid in ("panel-map-gradient", "panel-track-guided_backprop"):  # every panel shows them
        for column in (0, size - 1):
            k = first - 1 + column
            assert _hover_residue(page, testid, column, size).startswith(f"{sequence[k]}{k + 1} ")
    # the wheel zooms around the pointer, and Reset shows every residue again
    page.mouse.wheel(0, 300)
    page.wait_for_url(lambda url: "rzoom=" not in url or f"rzoom={first},{size}" not in url)
    page.get_by_test_id("residue-zoom-reset").click()
    expect(page.get_by_test_id("residue-zoom-window")).to_contain_text(
        f"All {len(sequence)} residues"
    )
    assert "rzoom=" not in page.url
    assert errors == []


def test_a_zoomed_map_follows_the_selection_the_arrow_keys_move(example_job: ExampleJob) -> None:
    page, errors = example_job
    page.goto(f"{page.url.split('?')[0]}?zoom=1,1,10&sel=5,5")
    page.wait_for_selector(READY)
    figure = page.get_by_test_id("map-dist_cb_cb").locator("xpath=ancestor::figure")
    expect(figure).to_have_attribute("data-zoom", "1,1,10")
    page.get_by_test_id("map-dist_cb_cb").focus()
    for _ in range(10):  # from column 5 to 15: past the window's last column, 10
        page.keyboard.press("ArrowRight")
    expect(figure).to_have_attribute("data-zoom", "1,6,10")  # just far enough to show column 15
    assert "sel=5,15" in page.url
    assert errors == []


def test_deeplift_panel_compares_with_its_reference_and_flags_a_readout_without_rules(
    example_job: ExampleJob,
) -> None:
    """DeepLIFT against the average residue explains a distance cell exactly: its panel names
    the value at the reference, and the change the map sums to. LRP has no rule for the
    expected distance's softmax, nor DeepLIFT for the predicted lDDT's readout: those panels
    say "approximate for this target" and why."""
    page, errors = example_job
    base = page.url.split("?")[0]
    page.goto(
        f"{base}?target=dist_cb_cb:20,40&methods=deeplift,lrp&options=deeplift.baseline:average"
    )
    wait_ready(page, "deeplift")
    wait_ready(page, "lrp")
    expect(page.get_by_test_id("panel-deeplift").locator("h3")).to_have_text("DeepLIFT")
    lrp = page.get_by_test_id("panel-approximate-lrp")
    expect(lrp).to_have_text("approximate for this target")
    assert "softmax" in (lrp.get_attribute("title") or "")
    meta = page.get_by_test_id("panel-meta-deeplift").inner_text().replace("−", "-")
    found = re.search(r"a change of (-?[\d.]+); the map sums to (-?[\d.]+)", meta)
    assert found is not None, meta
    assert float(found.group(1)) == pytest.approx(float(found.group(2)), rel=1e-2, abs=1e-3)
    expect(page.get_by_test_id("panel-approximate-deeplift")).to_have_count(0)
    page.goto(f"{base}?target=plddt:20&methods=deeplift")
    wait_ready(page, "deeplift")
    badge = page.get_by_test_id("panel-approximate-deeplift")
    expect(badge).to_have_text("approximate for this target")
    assert "clamp" in (badge.get_attribute("title") or "")
    assert errors == []
