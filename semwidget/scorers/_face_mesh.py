"""Face geometry from MediaPipe's 468-point face mesh (``face_landmark.tflite``).

The model file comes from the pinned ``mediapipe`` 0.10.21 wheel (mediapipe itself is
never imported: it needs numpy<2) and runs with ``ai-edge-litert``. Its input is a
192×192 RGB crop in [0, 1] (MediaPipe's ``FaceLandmarkCpu`` graph); its outputs are
468 (x, y, z) points in crop pixels and a face-presence logit.

The crop is MediaPipe's own tracking convention, run twice: a first pass on the whole
image with a 10 % replicated margin, then a second on a square of 1.5 × the longer
side of the first pass's landmark bounding box (``face_landmark_landmarks_to_roi``;
the roll rotation is skipped because every measure below is a ratio of distances
or is taken along the face's own cheek-to-cheek axis).

Landmark indices (canonical face mesh; "right" is the subject's right, image left):

=====================  ==============================================================
yaw                    nose tip 1, cheeks 234 (right) and 454 (left): the nose tip's
                       position along the 234→454 axis, 2t − 1; 0 frontal, negative
                       when the nose points to image left, sign flips under mirroring
mouth_open             inner lips 13 (upper) – 14 (lower), over face height 10–152
smile                  mouth corners 61–291, over the distance between the eye centres
                       ((33 + 133)/2 and (362 + 263)/2)
eye_open               eyelids 159–145 over eye corners 33–133 (right eye) and
                       386–374 over 362–263 (left eye), averaged
=====================  ==============================================================
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import torch

from ._assets import ASSETS
from ._base import Scorer
from ._face_crop import batches, crop, require, square

INPUT = 192
WORK_SIZE = 256  # images are first resized (antialiased) to this, then cropped
FIRST_MARGIN = 0.1  # first pass: the whole image plus this margin on each side
ROI_SCALE = 1.5  # MediaPipe's landmarks → ROI scale

NOSE_TIP, RIGHT_CHEEK, LEFT_CHEEK = 1, 234, 454
UPPER_INNER_LIP, LOWER_INNER_LIP, FOREHEAD, CHIN = 13, 14, 10, 152
RIGHT_MOUTH_CORNER, LEFT_MOUTH_CORNER = 61, 291
RIGHT_EYE = (33, 133, 159, 145)  # outer corner, inner corner, upper lid, lower lid
LEFT_EYE = (263, 362, 386, 374)


def _dist(p: np.ndarray, i: int | np.ndarray, j: int | np.ndarray) -> np.ndarray:
    a = p[:, i] if isinstance(i, int) else i
    b = p[:, j] if isinstance(j, int) else j
    return np.linalg.norm(a - b, axis=-1)


def geometry(landmarks: np.ndarray) -> np.ndarray:
    """Yaw, mouth opening, smile width and eye opening from face-mesh landmarks.

    Parameters
    ----------
    landmarks : ndarray of shape (n, 468, 2) or (n, 468, 3)
        Points in any one isotropic pixel frame (only x, y are used).

    Returns
    -------
    ndarray of shape (n, 4)
        Columns ``yaw, mouth_open, smile, eye_open`` as in the module docstring.
    """
    p = np.asarray(landmarks, np.float64)[:, :, :2]
    axis = p[:, LEFT_CHEEK] - p[:, RIGHT_CHEEK]
    t = ((p[:, NOSE_TIP] - p[:, RIGHT_CHEEK]) * axis).sum(-1) / np.maximum((axis * axis).sum(-1), 1e-12)
    yaw = 2 * t - 1
    mouth_open = _dist(p, UPPER_INNER_LIP, LOWER_INNER_LIP) / np.maximum(_dist(p, FOREHEAD, CHIN), 1e-12)
    right_centre = (p[:, RIGHT_EYE[0]] + p[:, RIGHT_EYE[1]]) / 2
    left_centre = (p[:, LEFT_EYE[0]] + p[:, LEFT_EYE[1]]) / 2
    smile = _dist(p, RIGHT_MOUTH_CORNER, LEFT_MOUTH_CORNER) / np.maximum(_dist(p, right_centre, left_centre), 1e-12)
    eyes = [_dist(p, up, low) / np.maximum(_dist(p, out, inn), 1e-12) for out, inn, up, low in (RIGHT_EYE, LEFT_EYE)]
    eye_open = np.mean(eyes, axis=0)
    return np.stack([yaw, mouth_open, smile, eye_open], axis=1)


class FaceMesh(Scorer):
    """Head yaw, mouth opening, smile width and eye opening from MediaPipe's face mesh.

    Parameters
    ----------
    batch_size : int
        Images per TFLite call.
    weights : path, optional
        A local copy of ``face_landmark.tflite``; otherwise it is fetched from the
        pinned ``mediapipe`` wheel and cached.
    num_threads : int, optional
        CPU threads for the TFLite interpreter (default: its own choice).
    """

    names = ("yaw", "mouth_open", "smile", "eye_open")

    def __init__(
        self,
        *,
        batch_size: int = 32,
        weights: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        litert = require("ai_edge_litert.interpreter", "ai-edge-litert", "FaceMesh")
        self.batch_size = int(batch_size)
        asset = ASSETS["mediapipe-face-landmark"]
        self._sha256 = asset.sha256
        self._interpreter: Any = litert.Interpreter(model_path=str(asset.path(weights)), num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._points, self._presence = outputs["conv2d_21"], outputs["conv2d_31"]
        self._batch = -1
        self._lock = threading.Lock()  # a TFLite interpreter is not thread-safe
        self._kwargs: dict[str, Any] = {"batch_size": self.batch_size, "num_threads": num_threads}
        if weights is not None:
            self._kwargs["weights"] = os.path.abspath(weights)

    @property
    def identity(self) -> str:
        return f"{super().identity}:sha256={self._sha256[:16]}"

    def recipe(self) -> tuple[str, dict[str, Any]]:
        """Rebuilt elsewhere from the pinned, sha256-checked file (or the same local copy)."""
        return "semwidget.scorers:FaceMesh", dict(self._kwargs)

    def landmarks(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The 468 face-mesh points of each image, after the two-pass crop.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W), float in [-1, 1]

        Returns
        -------
        points : ndarray of shape (n, 468, 3)
            x, y in fractions of the side of the squared image (may fall outside
            [0, 1]); z in the same units, relative depth (smaller is nearer).
        presence : ndarray of shape (n,)
            The model's face-presence probability (MediaPipe drops faces below 0.5).
        """
        points, presence = [], []
        for s in batches(images.shape[0], self.batch_size):
            x = square(images[s], WORK_SIZE)
            n = x.shape[0]
            centres = torch.full((n, 2), 0.5)
            sides = torch.full((n,), 1 + 2 * FIRST_MARGIN)
            p, _ = self._pass(x, centres, sides)
            lo, hi = p[:, :, :2].min(axis=1), p[:, :, :2].max(axis=1)
            centres = torch.from_numpy((lo + hi) / 2)
            sides = torch.from_numpy(ROI_SCALE * (hi - lo).max(axis=1))
            p, q = self._pass(x, centres, sides)
            points.append(p)
            presence.append(q)
        if not points:
            return np.zeros((0, 468, 3)), np.zeros(0)
        return np.concatenate(points), np.concatenate(presence)

    def score(self, images: torch.Tensor) -> np.ndarray:
        if images.shape[0] == 0:
            return np.zeros((0, len(self.names)))
        return geometry(self.landmarks(images)[0])

    def _pass(self, x: torch.Tensor, centres: torch.Tensor, sides: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """One model run on square crops; points mapped back to image fractions."""
        crops = (crop(x, centres, sides, INPUT) + 1) / 2  # [-1, 1] → [0, 1]
        batch = np.ascontiguousarray(crops.permute(0, 2, 3, 1).numpy(), dtype=np.float32)
        n = batch.shape[0]
        with self._lock:
            if n != self._batch:
                self._interpreter.resize_tensor_input(self._input, [n, INPUT, INPUT, 3])
                self._interpreter.allocate_tensors()
                self._batch = n
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._points).reshape(n, 468, 3).astype(np.float64)
            logit = self._interpreter.get_tensor(self._presence).reshape(n).astype(np.float64)
        # crop pixels → image fractions: the crop spans centre ± side/2
        c = centres.numpy().astype(np.float64)[:, None, :]
        side = sides.numpy().astype(np.float64)[:, None, None]
        points = raw / INPUT * side
        points[:, :, :2] += c - side[:, :, 0:1] / 2
        return points, 1 / (1 + np.exp(-logit))
