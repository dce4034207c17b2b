"""semwidget.inversion._images: every accepted input becomes (N, 3, R, R) in [-1, 1];
every bad one is refused with an error that says what was expected."""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from semwidget.inversion import _images
from semwidget.inversion._images import MAX_PIXELS, prepare_images, prepare_mask

R = 16


def _png(path, width, height, depth=8, colour=2, rows=None):
    """A PNG written by hand: PIL cannot write a 16-bit RGB one (it reads one as 8-bit),
    and a header may claim any size whatever the pixel data holds."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    data = zlib.compress(rows if rows is not None else b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def test_float_tensor_at_the_resolution_passes_through():
    x = torch.rand(2, 3, R, R) * 2 - 1
    assert torch.equal(prepare_images(x, R), x)
    assert torch.equal(prepare_images(x[0], R), x[:1])


def test_uint8_array_pil_and_path_agree(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (R, R, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "a.png")
    expected = torch.from_numpy(a).permute(2, 0, 1).float()[None] / 127.5 - 1
    for source in (a, a[None], Image.fromarray(a), tmp_path / "a.png", str(tmp_path / "a.png")):
        assert torch.allclose(prepare_images(source, R), expected, atol=1e-6), type(source)
    mixed = prepare_images([a, Image.fromarray(a), tmp_path / "a.png", expected[0]], R)
    assert mixed.shape == (4, 3, R, R)
    assert torch.allclose(mixed, expected.expand(4, -1, -1, -1), atol=1e-6)


def test_centre_crop_and_resize():
    # A wide image whose middle square is white and sides black: only white survives.
    a = np.zeros((32, 64, 3), np.uint8)
    a[:, 16:48] = 255
    out = prepare_images(a, R)
    assert out.shape == (1, 3, R, R)
    assert torch.allclose(out, torch.ones_like(out), atol=1e-3)
    tall = torch.full((1, 3, 48, 24), -1.0)
    tall[:, :, 12:36] = 0.5
    assert torch.allclose(prepare_images(tall, R), torch.full((1, 3, R, R), 0.5), atol=1e-3)


def test_grey_and_rgba_are_converted():
    grey = np.full((R, R), 255, np.uint8)
    assert torch.allclose(prepare_images(grey, R), torch.ones(1, 3, R, R))
    assert torch.allclose(prepare_images(Image.fromarray(grey, "L"), R), torch.ones(1, 3, R, R))
    # Half-transparent black over white: mid grey.
    rgba = np.zeros((R, R, 4), np.uint8)
    rgba[..., 3] = 128
    for source in (rgba, Image.fromarray(rgba, "RGBA")):
        out = prepare_images(source, R)
        assert out.shape == (1, 3, R, R)
        assert abs(float(out.mean())) < 0.02
    t = torch.zeros(1, 4, R, R)
    t[:, 3] = -1  # fully transparent: white
    assert torch.allclose(prepare_images(t, R), torch.ones(1, 3, R, R))


@pytest.mark.parametrize("empty", [[], (), torch.empty(0, 3, R, R)])
def test_no_images(empty):
    with pytest.raises(ValueError, match="no images to invert; expected at least one"):
        prepare_images(empty, R)


def test_one_pixel_image():
    with pytest.raises(ValueError, match=r"image 0 is 1×1 pixels; expected at least 8×8"):
        prepare_images(np.zeros((1, 1, 3), np.uint8), R)
    with pytest.raises(ValueError, match=r"image 0 is 1×1 pixels"):
        prepare_images(torch.zeros(1, 3, 1, 1), R)


def test_sixteen_bit_png(tmp_path):
    Image.fromarray(np.zeros((R, R), np.uint16)).save(tmp_path / "grey16.png")
    with pytest.raises(ValueError, match=r"grey16.png\) is a 16-bit PNG; expected 8 bits per channel"):
        prepare_images(tmp_path / "grey16.png", R)
    with pytest.raises(ValueError, match=r"image 0 has colour mode 'I;16' .*; expected 8-bit RGB, RGBA or grey"):
        prepare_images(Image.open(tmp_path / "grey16.png"), R)
    with pytest.raises(ValueError, match=r"is a 16-bit PNG; expected 8 bits per channel"):
        prepare_images(_png(tmp_path / "rgb16.png", 20, 20, depth=16, rows=bytes(20 * 121)), R)
    with pytest.raises(ValueError, match="16-bit pixels\\); expected uint8"):
        prepare_images(np.zeros((R, R), np.uint16), R)


def test_palette_png(tmp_path):
    Image.new("P", (R, R)).save(tmp_path / "p.png")
    with pytest.raises(ValueError, match=r"p.png\) is a palette image \(mode 'P'\); expected RGB, RGBA or grey"):
        prepare_images(tmp_path / "p.png", R)
    with pytest.raises(ValueError, match="palette image"):
        prepare_images(Image.new("P", (R, R)), R)


def test_not_an_image_file(tmp_path):
    (tmp_path / "notes.png").write_text("not pixels")
    with pytest.raises(ValueError, match=r"notes.png\) is not an image file PIL can read; expected PNG, JPEG"):
        prepare_images(tmp_path / "notes.png", R)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        prepare_images(tmp_path / "missing.png", R)


def test_huge_image_refused_before_decoding(tmp_path, monkeypatch):
    # The header claims 8000 × 7000 (56 megapixels); the file holds no pixels at all, so
    # decoding it would fail with another error. Loading pixels at all fails the test.
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a huge image")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with pytest.raises(ValueError, match=r"huge.png\) is 8000×7000 = 56.0 megapixels; images up to 50 megapixels"):
        prepare_images(_png(tmp_path / "huge.png", 8000, 7000), R)
    assert MAX_PIXELS == 50_000_000


def test_nan_in_a_tensor():
    x = torch.zeros(2, 3, R, R)
    x[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match=r"holds 1 NaN or infinite values; expected finite values in \[-1, 1\]"):
        prepare_images(x, R)


def test_float_out_of_range_and_other_types():
    with pytest.raises(ValueError, match=r"expected floats in \[-1, 1\] \(pass 0-255 pixels as a uint8 array\)"):
        prepare_images(torch.full((1, 3, R, R), 200.0), R)
    with pytest.raises(ValueError, match="expected uint8"):
        prepare_images(np.zeros((R, R, 3), np.float32), R)
    with pytest.raises(TypeError, match="expected a float tensor"):
        prepare_images(42, R)
    with pytest.raises(ValueError, match=r"expected \(N, C, H, W\) with C in 1, 3, 4"):
        prepare_images(torch.zeros(1, 2, R, R), R)


def test_mask_shapes():
    m = torch.zeros(R, R)
    m[:8] = 1
    for given in (m, m[None], m[None, None], m.expand(3, R, R), m.numpy().astype(bool)):
        out = prepare_mask(given, 3, R)
        assert out.shape == (3, 1, R, R)
        assert torch.equal(out[2, 0], m)
    # At the images' own size: cropped and resized like them.
    big = torch.zeros(32, 32)
    big[:16] = 1
    assert torch.equal(prepare_mask(big, 1, R, (32, 32))[0, 0], m)
    assert prepare_mask(None, 3, R) is None


@pytest.mark.parametrize("shape", [(R + 1, R), (2, R, R), (3, 3, R, R), (R,)])
def test_mask_of_the_wrong_shape(shape):
    with pytest.raises(
        ValueError,
        match=rf"mask has shape {re.escape(str(shape))}; expected \(16, 16\), \(3, 16, 16\) or \(3, 1, 16, 16\)",
    ):
        prepare_mask(torch.ones(shape), 3, R)


def test_mask_values():
    with pytest.raises(ValueError, match=r"mask values must be finite weights in \[0, 1\]"):
        prepare_mask(torch.full((R, R), 2.0), 1, R)
    with pytest.raises(ValueError, match=r"selects no pixel of image\(s\) \[1\]"):
        prepare_mask(torch.stack([torch.ones(R, R), torch.zeros(R, R)]), 2, R)


def test_jpeg_is_decoded_at_a_reduced_scale(tmp_path):
    Image.new("RGB", (512, 256), (255, 0, 0)).save(tmp_path / "red.jpg", quality=95)
    out = prepare_images(tmp_path / "red.jpg", R)
    assert out.shape == (1, 3, R, R)
    assert float(out[0, 0].mean()) > 0.9 and float(out[0, 1:].mean()) < -0.9
    assert _images.MIN_SIDE == 8
