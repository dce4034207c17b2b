"""The scene world: shapes, ranges, determinism, and each factor changing what it should."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from semwidget.world import (
    FACTOR_NAMES,
    FACTORS,
    SHAPES,
    TARGET_NAMES,
    WorldDataset,
    factor_targets,
    render,
    sample_factors,
    to_tensor,
)

IDX = {name: i for i, name in enumerate(FACTOR_NAMES)}


def base(**changes: float) -> np.ndarray:
    """One factor row: a mid-sized cube in the middle, level view, even light; ``changes`` override."""
    row = dict(horizon=0.55, view=0.0, shape=0, scale=1.0, position=0.0, floor_hue=0.1, wall_hue=0.6,
               object_hue=0.35, lighting=0.0)  # fmt: skip
    row.update(changes)
    return np.array([[row[n] for n in FACTOR_NAMES]], dtype=np.float32)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels (64, 64) that differ between the renders of two factor rows."""
    return (render(a)[0].astype(int) - render(b)[0]).__abs__().max(-1) > 0


def object_mask(**changes: float) -> np.ndarray:
    """The object's pixels: those that change with the object's hue alone."""
    return changed(base(**changes, object_hue=0.0), base(**changes, object_hue=0.5))


def boundary_row(image: np.ndarray, column: int) -> int:
    """First row, from the top, whose colour is closer to the floor's than the wall's."""
    col = image[:, column].astype(float)
    top, bottom = col[0], col[-1]
    return int(np.argmax(np.abs(col - bottom).sum(1) < np.abs(col - top).sum(1)))


def test_factor_table():
    assert FACTOR_NAMES == ("horizon", "view", "shape", "scale", "position", "floor_hue", "wall_hue",
                            "object_hue", "lighting")  # fmt: skip
    assert {f.level for f in FACTORS} == {"layout", "object", "attribute"}
    shape = FACTORS[IDX["shape"]]
    assert (shape.categories, shape.low, shape.high) == (4, 0, 3) and len(SHAPES) == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        shape.name = "x"  # type: ignore[misc]  # frozen


def test_sample_shapes_ranges_and_seeding():
    f = sample_factors(500, np.random.default_rng(0))
    assert f.shape == (500, len(FACTORS)) and f.dtype == np.float32
    for j, fac in enumerate(FACTORS):
        assert f[:, j].min() >= fac.low and f[:, j].max() <= fac.high
        if fac.categories:
            assert set(np.unique(f[:, j])) == set(range(fac.categories))
    np.testing.assert_array_equal(f, sample_factors(500, np.random.default_rng(0)))


def test_render_shape_dtype_and_determinism():
    f = sample_factors(7, np.random.default_rng(1))
    images = render(f)
    assert images.shape == (7, 64, 64, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, render(f))
    np.testing.assert_array_equal(images[3:4], render(f[3:4]))  # independent of the batch
    big = sample_factors(600, np.random.default_rng(2))  # crosses the internal chunking
    np.testing.assert_array_equal(render(big)[590:], render(big[590:]))
    x = to_tensor(images)
    assert x.shape == (7, 3, 64, 64) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    with pytest.raises(ValueError, match="expected factors of shape"):
        render(np.zeros((2, 5)))


def test_factor_targets_layout():
    f = sample_factors(300, np.random.default_rng(3))
    t = factor_targets(f)
    assert t.shape == (300, len(TARGET_NAMES)) == (300, 15)
    col = {n: t[:, i] for i, n in enumerate(TARGET_NAMES)}
    for name in ("horizon", "view", "scale", "position", "lighting"):
        assert col[name].min() >= -1 and col[name].max() <= 1
    np.testing.assert_allclose(col["horizon"], 2 * (f[:, 0] - 0.35) / 0.4 - 1, atol=1e-5)
    for hue in ("floor_hue", "wall_hue", "object_hue"):
        np.testing.assert_allclose(col[f"{hue}_cos"] ** 2 + col[f"{hue}_sin"] ** 2, 1, atol=1e-5)
    onehot = t[:, [TARGET_NAMES.index(f"shape_{s}") for s in SHAPES]]
    np.testing.assert_array_equal(onehot.argmax(1), f[:, IDX["shape"]])
    np.testing.assert_array_equal(onehot.sum(1), 1)


def test_hues_change_their_own_region():
    floor = changed(base(floor_hue=0.1), base(floor_hue=0.6))
    wall = changed(base(wall_hue=0.1), base(wall_hue=0.6))
    obj = object_mask()
    assert floor[-4:, :8].all() and not floor[:16].any()  # bottom rows, never the top
    assert wall[:16].all() and not wall[-4:].any()  # top rows, never the bottom
    assert not (floor & obj).any() and not (wall & obj).any()
    assert 50 < obj.sum() < 800 and not obj[:, :12].any() and not obj[:, -12:].any()


def test_horizon_moves_the_boundary_down():
    rows = [boundary_row(render(base(horizon=h))[0], column=4) for h in (0.35, 0.55, 0.75)]
    assert rows[0] < rows[1] < rows[2]
    assert abs(rows[0] - 0.35 * 64) <= 2 and abs(rows[2] - 0.75 * 64) <= 2


def test_view_skews_the_boundary():
    def tilt(view: float) -> int:
        image = render(base(view=view))[0]
        return boundary_row(image, 63) - boundary_row(image, 0)

    assert tilt(-1) < 0 == tilt(0) < tilt(1)


def test_object_factors():
    areas = [object_mask(scale=s).sum() for s in (0.6, 1.0, 1.3)]
    assert areas[0] < areas[1] < areas[2]
    xs = [np.nonzero(object_mask(position=p))[1].mean() for p in (-0.6, 0.0, 0.6)]
    assert xs[0] + 5 < xs[1] < xs[2] - 5
    # The object stands on the floor: its lowest pixel is below the horizon, wherever that is.
    for h in (0.35, 0.75):
        assert np.nonzero(object_mask(horizon=h))[0].max() > h * 64
    masks = [object_mask(shape=k) for k in range(len(SHAPES))]
    for a in range(len(masks)):
        for b in range(a + 1, len(masks)):
            assert (masks[a] ^ masks[b]).sum() > 30, (SHAPES[a], SHAPES[b])


def test_lighting_brightens_the_side_it_comes_from():
    def right_minus_left(light: float) -> float:
        image = render(base(lighting=light))[0].astype(float)
        return float(image[:, 48:].mean() - image[:, :16].mean())

    assert right_minus_left(-1) < right_minus_left(0) < right_minus_left(1)
    assert render(base(lighting=1))[0].mean() > render(base(lighting=-1))[0].mean()


def test_dataset_batches_are_seeded():
    a, b = iter(WorldDataset(8, seed=5)), iter(WorldDataset(8, seed=5))
    (x1, f1), (x2, _) = next(a), next(b)
    assert x1.shape == (8, 3, 64, 64) and f1.shape == (8, len(FACTORS)) and f1.dtype == torch.float32
    torch.testing.assert_close(x1, x2)
    assert not torch.equal(f1, next(a)[1])  # a new batch each time
    np.testing.assert_array_equal(to_tensor(render(f1.numpy())), x1)
    with pytest.raises(ValueError, match="batch_size"):
        WorldDataset(0)
