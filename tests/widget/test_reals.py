"""Real images in the Explorer: inverted, shown after the samples, edited like them,
labelled and saved by their latents; files from the page refused before decoding when
they are not images or too large, and a failure leaves the session as it was."""

import io
import struct
import time
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import semwidget
from semwidget import Explorer
from semwidget.inversion import invert
from semwidget.widget._annotations import Annotations
from tests.widget.page import deliver, frames, request

STEPS = {"steps": 4, "init": "random"}  # tiny generator, no encoder: a few steps; fidelity is not the point


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def _photo(seed: int, side: int = 20) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def _header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with an empty image data chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


@pytest.fixture
def ex(tiny_dcgan):
    ex = Explorer(tiny_dcgan, n_samples=4, seed=3, invert_options=STEPS)
    assert ex.wait_idle()
    ex.sent = []
    ex.send = lambda content, buffers=None: ex.sent.append((content, buffers or []))
    yield ex
    ex.close()


def _drop(ex, files: dict[str, bytes], seq: int = 1) -> None:
    request(ex, {"kind": "invert", "seq": seq, "names": list(files)})  # no buffers: refused below
    deliver(
        ex, {"method": "custom", "content": {"kind": "invert", "seq": seq, "names": list(files)}}, list(files.values())
    )
    assert ex.wait_idle()


def test_dropped_files_become_cells_after_the_samples(ex):
    _drop(ex, {"a.png": _png(_photo(0)), "b.png": _png(_photo(1))})
    s = ex.state
    assert [r.name for r in s.reals] == ["a.png", "b.png"] and s.n_cells == 6
    content, (data,) = frames(ex)[-1]
    assert content["count"] == 6 and [r["name"] for r in content["reals"]] == ["a.png", "b.png"]
    assert all(r["original"] and np.isfinite(r["psnr"]) for r in content["reals"])
    # The cells show exactly G(the inverted latents), after the samples of the seeds.
    images = ex.images()
    g = ex.generator
    assert torch.equal(images[:4], g.synthesize(g.sample(4, seed=3)))
    ws = torch.from_numpy(np.stack([r.array(g.num_ws, g.w_dim) for r in s.reals]))
    assert torch.allclose(images[4:], g.synthesize(semwidget.Latents(ws=ws, model=g.fingerprint)), atol=1e-6)
    # Within one drop the message without buffers was refused and shown, nothing else.
    errors = [c for c, _ in ex.sent if c["kind"] == "error"]
    assert len(errors) == 1 and "binary buffers" in errors[0]["message"]


def test_handles_edit_real_cells_like_samples_and_undo_takes_them_off(ex):
    _drop(ex, {"me.png": _png(_photo(2))})
    before = ex.images()[4].clone()
    ex.handle({"kind": "render", "seq": 5, "alphas": [2.0, 0, 0, 0, 0], "final": True})
    assert ex.wait_idle()
    after = ex.images()[4]
    assert (after - before).abs().mean() > 1e-3  # the real cell moved with the handle
    uid = ex.state.reals[0].uid
    ex.handle({"kind": "remove_image", "seq": 6, "uid": uid})
    assert ex.wait_idle() and ex.state.reals == ()
    ex.handle({"kind": "undo", "seq": 7})
    assert ex.wait_idle() and [r.uid for r in ex.state.reals] == [uid]
    ex.handle({"kind": "undo", "seq": 8})  # the α
    ex.handle({"kind": "undo", "seq": 9})  # the drop
    assert ex.wait_idle() and ex.state.reals == () and frames(ex)[-1][0]["count"] == 4


def test_original_is_the_image_the_cell_was_fitted_to(ex):
    photo = _photo(3, side=30)
    _drop(ex, {"me.png": _png(photo)})
    uid = ex.state.reals[0].uid
    ex.handle({"kind": "original", "uid": uid})
    content, (data,) = [(c, b) for c, b in ex.sent if c["kind"] == "original"][-1]
    assert content["uid"] == uid
    shown = np.asarray(Image.open(io.BytesIO(data)))
    assert shown.shape == (ex.generator.img_resolution,) * 2 + (3,)
    # The same resize and crop as semwidget.invert's, so PSNR compares these pixels.
    again = invert(ex.generator, [Image.fromarray(photo)], steps=0, init="random", progress=False)
    assert np.array_equal(shown, semwidget.to_uint8(again.targets)[0])


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not an image at all", "not an image file"),
        (_header_only_png(8_000, 8_000), "at most 50,000,000"),
        (_header_only_png(30_000, 30_000), "far more pixels"),
        (b"", "not an image file"),
    ],
)
def test_bad_files_are_refused_and_the_session_is_unchanged(ex, payload, match):
    before = ex.state
    deliver(ex, {"method": "custom", "content": {"kind": "invert", "seq": 2, "names": ["x.png"]}}, [payload])
    assert ex.wait_idle()
    assert ex.state == before and ex.state.reals == ()
    errors = [c["message"] for c, _ in ex.sent if c["kind"] == "error"]
    assert errors and match in errors[-1] and "x.png" in errors[-1]


def test_one_bad_file_among_good_ones_adds_none(ex):
    files = {"ok.png": _png(_photo(4)), "bad.txt": b"hello"}
    deliver(
        ex, {"method": "custom", "content": {"kind": "invert", "seq": 2, "names": list(files)}}, list(files.values())
    )
    assert ex.wait_idle() and ex.state.reals == ()


def test_request_bounds_come_from_the_schema(ex):
    def refused(content, buffers):
        ex.sent.clear()
        deliver(ex, {"method": "custom", "content": content}, buffers)
        assert ex.wait_idle()
        return [c["message"] for c, _ in ex.sent if c["kind"] == "error"]

    png = _png(_photo(5))
    assert "at most 8 strings" in refused({"kind": "invert", "seq": 1, "names": ["a"] * 9}, [png] * 9)[0]
    assert "carries 9 binary buffers" in refused({"kind": "invert", "seq": 1, "names": ["a"] * 8}, [png] * 9)[0]
    assert "2 names for 1 files" in refused({"kind": "invert", "seq": 1, "names": ["a", "b"]}, [png])[0]
    assert "carries 1 binary buffers" in refused({"kind": "undo", "seq": 1}, [png])[0]
    assert "no real image" in refused({"kind": "remove_image", "seq": 1, "uid": 123456}, [])[0]
    assert "no original" in refused({"kind": "original", "uid": 123456}, [])[0]
    assert ex.state.reals == ()


def test_a_conditional_model_refuses_real_images():
    net = semwidget.nets.ConditionalDCGAN(z_dim=8, c_dim=2, ngf=4)
    g = semwidget.as_generator(net, c_dim=2)
    with pytest.raises(ValueError, match="need an unconditional generator"):
        Explorer(g, n_samples=2, images=[Image.fromarray(_photo(6))], invert_options=STEPS)


def test_images_from_python_and_labels_and_annotations_round_trip(tiny_dcgan, tmp_path):
    photos = [Image.fromarray(_photo(7)), Image.fromarray(_photo(8))]
    inversion = invert(tiny_dcgan, photos, steps=3, init="random", progress=False)
    ex = Explorer(tiny_dcgan, n_samples=2, images=inversion)
    assert ex.wait_idle()
    assert [r.name for r in ex.state.reals] == ["image 1", "image 2"]
    assert np.allclose(ex.state.reals[1].psnr, inversion.psnr[1])
    ex.handle({"kind": "set_attribute", "name": "smile"})
    ex.handle({"kind": "label", "cell": 3, "value": 1, "seed": None, "version": None})
    assert ex.wait_idle()
    (label,) = ex.state.labels
    assert label.seed == -1 and ex.cell_labels == [0, 0, 0, 1]
    assert np.array_equal(
        label.array(tiny_dcgan.num_ws, tiny_dcgan.w_dim), ex.state.reals[1].array(1, tiny_dcgan.w_dim)
    )

    ex.save_annotations(tmp_path / "plain")
    ex.save_annotations(tmp_path / "photos", photos=True)
    plain = Annotations.load(tmp_path / "plain.json")
    kept = Annotations.load(tmp_path / "photos.json")
    assert plain.photos is None and kept.photos.shape == (2, 16, 16, 3)
    assert np.array_equal(plain.real_codes[0], ex.state.reals[0].array(1, tiny_dcgan.w_dim))

    other = Explorer(tiny_dcgan, n_samples=2)
    other.load_annotations(tmp_path / "plain.json")
    assert other.wait_idle()
    assert [r.name for r in other.state.reals] == ["image 1", "image 2"]
    assert all(r.original is None for r in other.state.reals)
    assert torch.equal(other.images()[2:], ex.images()[2:])
    assert other.cell_labels == [0, 0, 0, 1]  # the label still names that latent
    with pytest.raises(ValueError, match="loaded without them"):
        other.save_annotations(tmp_path / "again", photos=True)
    other.load_annotations(tmp_path / "photos.json")
    assert all(r.original is not None for r in other.state.reals)
    ex.close()
    other.close()


def test_more_than_sixteen_real_images_are_refused(tiny_dcgan):
    many = [Image.fromarray(_photo(i, side=8)) for i in range(17)]
    with pytest.raises(ValueError, match="at most 16 real images"):
        Explorer(tiny_dcgan, n_samples=1, images=many, invert_options=STEPS)


def test_an_inversion_shows_progress_and_cancel_stops_it_adding_nothing(tiny_dcgan):
    ex = Explorer(tiny_dcgan, n_samples=2, invert_options={"steps": 100_000, "init": "random"})
    assert ex.wait_idle()
    seen = []
    ex.observe(lambda change: seen.append(change["new"]), names="progress")
    deliver(ex, {"method": "custom", "content": {"kind": "invert", "seq": 1, "names": ["a.png"]}}, [_png(_photo(9))])
    deadline = time.monotonic() + 60
    while not any(p.get("value", 0) >= 3 for p in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    progress = [p for p in seen if p]
    assert progress and progress[-1]["total"] == 100_000 and "inverting" in progress[-1]["label"]
    request(ex, {"kind": "cancel"})
    assert ex.wait_idle(60)
    assert ex.state.reals == () and ex.stats["jobs_cancelled"] == 1 and not ex.error
    assert ex.progress == {} and not ex.busy
    ex.close()
