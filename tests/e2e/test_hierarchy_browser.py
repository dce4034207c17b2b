"""The layer hierarchy in the browser: shapes-stylegan2 in the Explorer, with a SeFa
direction found on the early layers (0–2) and one found on the late layers (7–9), each
applied where it was found.

Dragging the early handle must move the layout (horizon, view) more than the colours;
dragging the late one must recolour (floor and wall hue) more than it moves the layout;
the heatmap must show the early direction acting at the early layers. What moved is read
back from the images the kernel holds for the screen, with the world's FactorScorer.
"""

from __future__ import annotations

import harness
import pytest

pytestmark = pytest.mark.e2e

# Mean |change| of each factor group between the unedited grid and the one on screen,
# in units of the change between two unrelated scenes.
CHANGE = """{
    "layout": float(_sw_c[:, [_sw_n.index("horizon"), _sw_n.index("view")]].mean()),
    "colour": float(_sw_c[:, [_sw_n.index("floor_hue"), _sw_n.index("wall_hue")]].mean()),
}"""
SETUP = """
import numpy as _sw_np
from semwidget.world import FactorScorer as _SwScorer
from semwidget.world._measure import factor_change as _sw_fc, random_pair_change as _sw_pair
from semwidget.world._predictor import SCORE_NAMES as _sw_n
_sw_s = _SwScorer()
_sw_before = _sw_s(G.synthesize(G.sample(6, seed=0)))
_sw_c = _sw_np.abs(_sw_fc(_sw_before, _sw_s({v}.images()))) / _sw_pair()
"""


def factor_change(page, variable: str) -> dict:
    return harness.kernel_json(page, CHANGE, setup=SETUP.format(v=variable))


def drag_handle(page, i: int, fraction: float) -> None:
    track = page.locator(f'[data-testid="track-{i}"]')
    track.scroll_into_view_if_needed()
    harness.drag(page, page.locator(f'[data-testid="handle-{i}"]'), fraction * track.bounding_box()["width"])
    harness.wait_for_sent_seq(page)


def test_heatmap_shows_the_early_direction_at_the_early_layers(hierarchy_page, shots_dir):
    page, ex = hierarchy_page
    page.wait_for_selector('[data-testid="heat-1-9"][data-applicable="true"]', timeout=120_000)
    early, late = harness.kernel_json(page, f"{ex}.heatmap")["values"]
    mean = lambda row, cols: sum(row[c] for c in cols) / len(cols)  # noqa: E731
    # Pixel change counts every recolouring at the last ToRGB (layer 9), whichever direction
    # moves it, so the test compares with the middle layers (3-6), where neither was found.
    assert mean(early, range(3)) > 1.5 * mean(early, range(3, 7)), f"early direction's row {early}"
    assert mean(late, range(7, 10)) > 1.5 * mean(late, range(3, 7)), f"late direction's row {late}"
    assert harness.kernel_json(page, f"{ex}.layers") == [[0, 1, 2], [7, 8, 9]]
    harness.shot(page, shots_dir, "hierarchy-01-at-rest")


def test_dragging_the_early_direction_moves_the_layout(hierarchy_page, shots_dir):
    page, ex = hierarchy_page
    harness.snapshot(page, "h-rest")
    drag_handle(page, 0, 0.4)
    assert harness.kernel_json(page, f"{ex}.alphas")[0] > 0
    harness.snapshot(page, "h-early")
    assert min(harness.pixel_change(page, "h-rest", "h-early")) > 0.5, "the grid did not change on screen"
    change = factor_change(page, ex)
    assert change["layout"] > 1.5 * change["colour"], change
    harness.shot(page, shots_dir, "hierarchy-02-early-dragged")


def test_dragging_the_late_direction_recolours(hierarchy_page, shots_dir):
    page, ex = hierarchy_page
    page.locator('[data-testid="reset"]').click()
    harness.wait_for_sent_seq(page)
    assert harness.kernel_json(page, f"{ex}.alphas") == [0, 0]
    drag_handle(page, 1, 0.4)
    change = factor_change(page, ex)
    assert change["colour"] > 1.5 * change["layout"], change
    harness.shot(page, shots_dir, "hierarchy-03-late-dragged")
