"""The transformations of semwidget.continuous: the sign convention, the masks, custom callables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semwidget.continuous import TRANSFORMS, CustomTransform, as_transform

R = 32


def _square(top: int = 6, left: int = 18, size: int = 6) -> torch.Tensor:
    """A black 32×32 image with a white square (rows top.., columns left..)."""
    x = -torch.ones(1, 3, R, R)
    x[:, :, top : top + size, left : left + size] = 1
    return x


def _centroid(images: torch.Tensor) -> tuple[float, float, float]:
    """(x, y) of the bright content in pixels, and its area in pixels."""
    w = (images[0].mean(0) + 1) / 2
    ys, xs = torch.meshgrid(torch.arange(R, dtype=torch.float32), torch.arange(R, dtype=torch.float32), indexing="ij")
    area = float(w.sum())
    return float((w * xs).sum()) / area, float((w * ys).sum()) / area, area


def test_shift_x_moves_content_right_by_t_widths_and_masks_the_vacated_strip():
    x = _square()
    out, mask = TRANSFORMS["shift_x"](x, 0.125)  # 4 pixels
    cx0, cy0, _ = _centroid(x)
    cx, cy, _ = _centroid(out)
    assert cx == pytest.approx(cx0 + 4) and cy == pytest.approx(cy0)
    assert mask.shape == (1, 1, R, R)
    assert (mask[..., :4] == 0).all() and (mask[..., 4:] == 1).all()
    left, lmask = TRANSFORMS["shift_x"](x, -0.125)
    assert _centroid(left)[0] == pytest.approx(cx0 - 4)
    assert (lmask[..., -4:] == 0).all() and (lmask[..., :-4] == 1).all()


def test_shift_y_moves_content_down():
    x = _square()
    out, mask = TRANSFORMS["shift_y"](x, 0.25)  # 8 pixels
    assert _centroid(out)[1] == pytest.approx(_centroid(x)[1] + 8)
    assert (mask[..., :8, :] == 0).all() and (mask[..., 8:, :] == 1).all()


def test_zoom_grows_content_about_the_centre_and_masks_what_a_zoom_out_uncovers():
    x = _square(top=13, left=13, size=6)  # centred
    big, mask = TRANSFORMS["zoom"](x, 0.5)
    assert _centroid(big)[2] == pytest.approx(_centroid(x)[2] * 1.5**2, rel=0.05)
    assert mask.all()  # zooming in leaves every pixel covered
    small, mask = TRANSFORMS["zoom"](x, -0.5)
    assert _centroid(small)[2] == pytest.approx(_centroid(x)[2] * 0.5**2, rel=0.05)
    assert mask[0, 0, R // 2, R // 2] == 1 and mask[0, 0, 0, 0] == 0 and mask[0, 0, R // 2, 0] == 0
    with pytest.raises(ValueError, match=r"zoom takes t in \(-1, inf\)"):
        TRANSFORMS["zoom"](x, -1.0)


def test_rotation_turns_counter_clockwise_on_screen():
    # A square right of the centre goes to the top for +90° (t = 1), to the bottom for -90°.
    x = _square(top=13, left=24, size=6)
    up, _ = TRANSFORMS["rotation"](x, 1.0)
    cx, cy, _ = _centroid(up)
    assert cx == pytest.approx(15.5, abs=0.2) and cy < 10
    down, _ = TRANSFORMS["rotation"](x, -1.0)
    assert _centroid(down)[1] > 21
    # A small turn: the corners are uncovered, the centre is not.
    _, mask = TRANSFORMS["rotation"](x, 0.25)
    assert mask[0, 0, 0, 0] == 0 and mask[0, 0, R // 2, R // 2] == 1


def test_brightness_adds_t_and_masks_clipped_pixels():
    x = torch.zeros(1, 3, R, R)
    x[:, :, :4] = 0.9
    out, mask = TRANSFORMS["brightness"](x, 0.25)
    assert torch.allclose(out[:, :, 4:], torch.full_like(out[:, :, 4:], 0.25))
    assert (out <= 1).all() and (mask[..., :4, :] == 0).all() and (mask[..., 4:, :] == 1).all()
    dark, dmask = TRANSFORMS["brightness"](x, -0.5)
    assert dark.mean() < x.mean() and dmask.all()


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_t_zero_is_the_identity_with_a_full_mask_and_t_per_image_works(name):
    x = torch.rand(2, 3, R, R) * 2 - 1
    out, mask = TRANSFORMS[name](x, 0.0)
    assert torch.allclose(out, x, atol=1e-5) and mask.all()
    each, _ = TRANSFORMS[name](x, torch.tensor([0.0, 0.1]))
    assert torch.allclose(each[0], x[0], atol=1e-5) and torch.allclose(each[1:], TRANSFORMS[name](x[1:], 0.1)[0])


def test_custom_callables_are_checked():
    def good(images, t):
        return images + t, torch.ones(images.shape[-2:])

    x = torch.zeros(2, 3, 8, 8)
    out, mask = as_transform(good)(x, 0.5)
    assert torch.equal(out, x + 0.5) and mask.shape == (2, 1, 8, 8)
    assert as_transform(good).identity.endswith("good")
    cases = [
        (lambda images, t: images, r"returned a Tensor; expected a pair \(images, mask\)"),
        (lambda images, t: (images, None), "returned no mask"),
        (lambda images, t: (images[:, :, :4], torch.ones(8, 8)), r"returned images of shape \(2, 3, 4, 8\)"),
        (lambda images, t: (images, torch.ones(3, 3)), r"returned a mask of shape \(3, 3\)"),
        (lambda images, t: (images, 2 * torch.ones(8, 8)), r"mask with values outside \[0, 1\]"),
        (lambda images, t: (images * np.nan, torch.ones(8, 8)), "NaN or infinite pixels"),
    ]
    for fn, message in cases:
        with pytest.raises(ValueError, match=message):
            CustomTransform(fn)(x, 0.1)


def test_unknown_names_and_other_objects_are_refused():
    with pytest.raises(ValueError, match=r"unknown transform 'shift'; expected one of \['brightness'"):
        as_transform("shift")
    with pytest.raises(TypeError, match="transform must be one of"):
        as_transform(3)
