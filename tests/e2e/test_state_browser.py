"""One session state, seen from a real JupyterLab in headless Chromium: actions that change
the directions or the seeds, then a drag, always show the edit the user made; a drag
stays live while a slow export runs; the heatmap's legend fits a 1400×900 window.

The tests of this module share one kernel and one widget (the quickstart's), in order.
"""

from __future__ import annotations

import harness
import pytest

pytestmark = pytest.mark.e2e

W = '[data-testid="semwidget"]'


def click(page, testid: str) -> None:
    button = page.locator(f'{W} [data-testid="{testid}"]')
    button.scroll_into_view_if_needed()
    button.click()


def kernel(page, ex: str, expr: str, timeout: float = 120):
    """``expr`` evaluated in the kernel once the Explorer's worker is idle."""
    return harness.kernel_json(page, f"({ex}.wait_idle({timeout}), {expr})[1]", timeout=timeout + 20)


def wait_directions(page, n: int) -> None:
    harness.wait_until(
        page,
        f"() => document.querySelectorAll('{W} [data-testid^=\"direction-active-\"]').length === {n}",
        f"{n} directions in the list",
        timeout=60,
    )


def drag_first_handle(page, fraction: float = 0.3) -> None:
    track = page.locator(f'{W} [data-testid="track-0"]')
    track.scroll_into_view_if_needed()
    harness.drag(page, page.locator(f'{W} [data-testid="handle-0"]'), fraction * track.bounding_box()["width"])


def assert_screen_is_kernels_newest(page, ex: str) -> None:
    """The frame on screen is the newest asked for, its bytes are the kernel's newest
    frame, no cell is blank and no error is shown."""
    seq = harness.wait_for_sent_seq(page, timeout=60)
    state = kernel(page, ex, f"{{'seq': {ex}.render_seq, 'crc': {ex}.frame_checksum, 'error': {ex}.error}}")
    got = page.evaluate("(seq) => window.__sw.frames.filter((f) => f.seq === seq).pop() || null", seq)
    assert not state["error"], state["error"]
    assert got is not None and state["seq"] == seq and got["crc"] == state["crc"], (state, got)
    harness.snapshot(page, "check")
    spread = harness.pixel_spread(page, "check")
    assert min(spread) > 5, f"blank cells on screen (RGB spread per cell {spread})"
    assert not page.locator(f'{W} [data-testid="error"]:visible').count()


def test_compute_then_undo_then_drag_moves_the_images(explorer_page, shots_dir):
    page, ex = explorer_page
    n = kernel(page, ex, f"len({ex}.directions)")
    page.locator(f'{W} [data-testid="compute-n"]').fill("2")
    click(page, "compute")
    assert kernel(page, ex, f"len({ex}.directions)") == n + 2
    wait_directions(page, n + 2)
    click(page, "undo")
    assert kernel(page, ex, f"len({ex}.directions)") == n
    wait_directions(page, n)
    harness.wait_for_sent_seq(page, timeout=60)
    harness.snapshot(page, "before-drag")
    drag_first_handle(page)
    harness.wait_for_sent_seq(page, timeout=60)
    harness.snapshot(page, "after-drag")
    change = harness.pixel_change(page, "before-drag", "after-drag")
    assert min(change) > 0.5, f"the drag after compute → undo did not move the images (mean |Δ| per cell {change})"
    assert kernel(page, ex, f"{ex}.alphas[0]") != 0
    assert_screen_is_kernels_newest(page, ex)
    harness.shot(page, shots_dir, "state-compute-undo-drag")


def test_two_quick_new_seeds_then_a_drag(explorer_page, shots_dir):
    page, ex = explorer_page
    first = kernel(page, ex, f"{ex}.seed")
    n = kernel(page, ex, f"{ex}.n_samples")
    a0 = kernel(page, ex, f"{ex}.alphas[0]")
    harness.snapshot(page, "old-seeds")
    button = page.locator(f'{W} [data-testid="new-seeds"]')
    button.scroll_into_view_if_needed()
    button.click()
    button.click()
    drag_first_handle(page, -0.25)  # at once, before the new seeds' frames are back
    harness.wait_for_sent_seq(page, timeout=60)
    assert kernel(page, ex, f"{ex}.seed") == first + 2 * n
    assert kernel(page, ex, f"{ex}.alphas[0]") < a0 - 0.1  # the drag to the left took effect
    harness.snapshot(page, "new-seeds")
    assert min(harness.pixel_change(page, "old-seeds", "new-seeds")) > 0.5
    assert_screen_is_kernels_newest(page, ex)
    harness.shot(page, shots_dir, "state-two-new-seeds-drag")


def test_a_drag_while_a_gif_export_runs_updates_the_grid_within_a_second(explorer_page):
    page, ex = explorer_page
    # Each synthesis 0.12 s slower: the export's 24 frames take ~3 s, one render ~0.1 s more.
    harness.kernel_exec(
        page,
        f"import time as _t\n_G = {ex}.generator\n_syn = _G.synthesize\n"
        "_G.synthesize = lambda *a, **k: (_t.sleep(0.12), _syn(*a, **k))[1]",
    )
    try:
        files = page.evaluate("() => window.__sw.files.length")
        click(page, "export-gif")
        harness.wait_until(
            page,
            f"() => !document.querySelector('{W} [data-testid=\"progress\"]').hidden",
            "the export's progress bar",
            timeout=30,
        )
        drag_first_handle(page, 0.2)
        up = page.evaluate("() => window.__sw.pointerup")
        harness.wait_for_sent_seq(page, timeout=30)
        shown = page.evaluate("() => window.__sw.frames[window.__sw.frames.length - 1].t")
        still_exporting = page.evaluate("(n) => window.__sw.files.length === n", files)
        harness.wait_until(page, f"() => window.__sw.files.length > {files}", "the GIF", timeout=60)
        gif = page.evaluate("() => window.__sw.files[window.__sw.files.length - 1]")
    finally:
        harness.kernel_exec(page, "_G.synthesize = _syn")
    assert gif["mime"] == "image/gif"
    assert still_exporting, "the export finished before the drag's frame: the test proves nothing"
    assert shown - up < 1000, f"the drag's frame came {shown - up:.0f} ms after the mouse was released"
    assert_screen_is_kernels_newest(page, ex)


def test_the_heatmap_legend_is_visible_at_1400_by_900(explorer_page, shots_dir):
    page, _ = explorer_page
    page.set_viewport_size({"width": 1400, "height": 900})
    legend = page.locator(f'{W} [data-testid="heatmap-legend"]')
    legend.scroll_into_view_if_needed()
    assert legend.is_visible()
    box = legend.bounding_box()
    widget = page.locator(W).bounding_box()
    assert box["width"] > 40 and box["height"] > 4, box
    assert box["x"] >= widget["x"] - 1 and box["x"] + box["width"] <= min(1400, widget["x"] + widget["width"]) + 1, (
        f"legend {box} is cut off (widget {widget}, window 1400 px)"
    )
    assert 0 <= box["y"] and box["y"] + box["height"] <= 900
    assert "each row" in legend.inner_text()  # per row (the default) says so
    page.locator(f'{W} [data-testid="heatmap-normalize"]').select_option("global")
    text = legend.inner_text()
    assert any(ch.isdigit() for ch in text), f"the global legend shows no values: {text!r}"
    heat = page.locator(f'{W} [data-testid="heatmap"]').bounding_box()
    assert heat["x"] + heat["width"] <= 1400 + 1, f"the heatmap runs off the window: {heat}"
    page.screenshot(path=str(shots_dir / "state-heatmap-1400x900.png"))


def test_an_image_dropped_on_the_grid_becomes_a_cell_the_handles_edit(explorer_page, shots_dir):
    page, ex = explorer_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    n = kernel(page, ex, f"{ex}.state.n_cells")
    # A "photo": an image of the model's own (seed 4242, not on the grid), as a PNG file.
    harness.kernel_exec(
        page,
        "import base64 as _b64, semwidget as _sw\n"
        f"_photo = _sw.to_uint8({ex}.generator.synthesize({ex}.generator.sample(1, seed=4242)))[0]",
    )
    png = kernel(page, ex, "_b64.b64encode(_sw.common.png_bytes(_photo)).decode()")
    page.evaluate(
        """([selector, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const files = new DataTransfer();
            files.items.add(new File([bytes], "face.png", { type: "image/png" }));
            const grid = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                grid.dispatchEvent(new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));
            }
        }""",
        [f'{W} [data-testid="grid"]', png],
    )
    # The page reads the file before it sends it, so the kernel may be idle for a moment
    # after the drop: wait for the cell itself (an error banner ends the wait with its text).
    harness.wait_until(
        page, f"() => document.querySelector('{W} [data-testid=\"cell-{n}\"]') !== null", "the new cell", timeout=300
    )
    reals = kernel(page, ex, f"[(r.name, r.psnr) for r in {ex}.state.reals]")
    assert [name for name, _ in reals] == ["face.png"] and reals[0][1] > 15, reals
    caption = page.locator(f'{W} [data-testid="cell-seed-{n}"]')
    assert caption.inner_text().startswith("face.png ·") and caption.inner_text().endswith("dB")
    harness.wait_for_sent_seq(page, timeout=60)
    harness.snapshot(page, "real-before")
    drag_first_handle(page, 0.25)
    harness.wait_for_sent_seq(page, timeout=60)
    harness.snapshot(page, "real-after")
    change = harness.pixel_change(page, "real-before", "real-after")
    assert change[n] > 0.5, f"the drag did not move the real image's cell (mean |Δ| per cell {change})"
    assert_screen_is_kernels_newest(page, ex)
    harness.shot(page, shots_dir, "state-real-image-edited")
    # The toggle shows the image it was fitted to; again, the edit.
    click(page, f"real-original-{n}")
    wrap = page.locator(f'{W} [data-testid="cell-wrap-{n}"]')
    harness.wait_until(
        page,
        f"() => document.querySelector('{W} [data-testid=\"cell-wrap-{n}\"]').dataset.showing === 'original'",
        "the original",
    )
    harness.shot(page, shots_dir, "state-real-image-original")
    click(page, f"real-original-{n}")
    assert wrap.get_attribute("data-showing") == "reconstruction"
    # Taken off again; the grid is as before.
    click(page, f"real-remove-{n}")
    assert kernel(page, ex, f"len({ex}.state.reals)") == 0
    harness.wait_until(
        page, f"() => document.querySelector('{W} [data-testid=\"cell-{n}\"]') === null", "the cell gone"
    )
