"""What each zoo model's layers are, written once: a :class:`ModelCard` per catalogue entry.

A card is plain data, readable without loading any weights
(``semwidget.zoo.describe(name)``). Every load checks the built generator against its
card (:meth:`ModelCard.differences`), and the zoo tests also check each layer's
resolution in a forward pass, so a card cannot drift from its model.

Layer groups follow the StyleGAN paper (Karras, Laine & Aila 2019, section 3.1, on
style mixing): *coarse* styles act at 4²–8² pixels (pose, layout), *middle* ones at
16²–32² (smaller features), *fine* ones at 64² and up (colour, micro-structure).
A group is decided by the resolution a layer writes, so it holds for any model size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: (smallest, largest) side in pixels of each group's layers; None: no upper bound.
GROUPS: dict[str, tuple[int, int | None]] = {"coarse": (4, 8), "middle": (16, 32), "fine": (64, None)}


def group_of(resolution: int) -> str:
    """The group of a layer writing ``resolution``² pixels: ``"coarse"``, ``"middle"`` or ``"fine"``."""
    for name, (low, high) in GROUPS.items():
        if resolution >= low and (high is None or resolution <= high):
            return name
    raise ValueError(f"no layer group holds {resolution}x{resolution} layers; the groups start at 4x4")


@dataclass(frozen=True)
class Layer:
    """One layer-wise latent ``ws[i]``, or one feature map.

    ``name`` is what the generator calls it (``G.layer_names[i]``, or a key of
    ``G.feature_layers``); ``resolution`` the side of the map it writes (for a
    latent: of the convolution its style modulates; a DCGAN's z: the first layer's
    output); ``channels`` a feature map's channel count (None for latents).
    """

    name: str
    resolution: int
    channels: int | None = None

    def __post_init__(self) -> None:
        group_of(self.resolution)  # a resolution outside every group is a typo
        if self.channels is not None and self.channels < 1:
            raise ValueError(f"layer {self.name!r} has {self.channels} channels; expected at least 1")

    @property
    def group(self) -> str:
        return group_of(self.resolution)

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """A feature map's (channels, height, width), as ``G.feature_layers[name].shape``."""
        return None if self.channels is None else (self.channels, self.resolution, self.resolution)


@dataclass(frozen=True)
class ModelCard:
    """The layers of one zoo model, as its generator adapter reports them once loaded.

    Attributes
    ----------
    architecture : str
    img_resolution : int
    latent_space : {"z", "w"}
        What ``ws`` holds: z itself (single-input generators) or mapped codes.
    z_dim, w_dim : int
    ws : tuple of Layer, one per layer-wise latent (``num_ws`` of them)
    feature_layers : tuple of Layer
        Feature maps where channel-space directions are found and injected
        (``SeFa(feature_layer=...)``, ``GANSpace(feature_layer=...)``), earliest first.
    class_names : tuple of str
        Conditioning classes (``c_dim`` of them), if any.
    """

    architecture: str
    img_resolution: int
    latent_space: str
    z_dim: int
    w_dim: int
    ws: tuple[Layer, ...]
    feature_layers: tuple[Layer, ...] = ()
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.latent_space not in ("z", "w"):
            raise ValueError(f"latent_space must be 'z' or 'w'; got {self.latent_space!r}")
        if not self.ws or any(layer.channels is not None for layer in self.ws):
            raise ValueError("a card lists at least one layer-wise latent, without channels")
        if any(layer.channels is None for layer in self.feature_layers):
            raise ValueError("a card's feature layers give their channels")

    @property
    def num_ws(self) -> int:
        return len(self.ws)

    @property
    def c_dim(self) -> int:
        return len(self.class_names)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.ws)

    def layers(self, group: str) -> tuple[int, ...]:
        """Indices into ``ws`` of the layer-wise latents in ``group`` (for ``edit(..., layers=)``,
        ``SeFa(layers=)``)."""
        self._check_group(group)
        return tuple(i for i, layer in enumerate(self.ws) if layer.group == group)

    def feature_layers_in(self, group: str) -> tuple[str, ...]:
        """Names of the feature maps in ``group`` (for ``feature_layer=``)."""
        self._check_group(group)
        return tuple(layer.name for layer in self.feature_layers if layer.group == group)

    @staticmethod
    def _check_group(group: str) -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown layer group {group!r}; the groups are {list(GROUPS)}")

    def summary(self) -> str:
        """One line: architecture, image size, latents."""
        size = f"{self.img_resolution}×{self.img_resolution}"
        classes = f" + {self.c_dim} classes" if self.c_dim else ""
        if self.latent_space == "z" and self.num_ws == 1:
            return f"{self.architecture}, {size}, z_dim {self.z_dim}{classes}"
        return f"{self.architecture}, {size}, {self.num_ws} layer-wise latents in {self.latent_space} ({self.w_dim}-d)"

    def differences(self, generator: Any) -> list[str]:
        """How ``generator`` differs from this card (empty when it matches): sizes, latent
        space, layer names, classes, feature maps and their shapes."""
        found = []
        for attr in ("img_resolution", "latent_space", "z_dim", "w_dim", "num_ws", "c_dim"):
            have, want = getattr(generator, attr, None), getattr(self, attr)
            if have != want:
                found.append(f"{attr} is {have!r}, the card says {want!r}")
        if tuple(getattr(generator, "layer_names", ())) != self.layer_names:
            found.append(f"layer_names are {list(generator.layer_names)}, the card says {list(self.layer_names)}")
        if tuple(getattr(generator, "class_names", ())) != self.class_names:
            found.append(f"class_names are {generator.class_names}, the card says {self.class_names}")
        have_maps = {n: tuple(f.shape) for n, f in getattr(generator, "feature_layers", {}).items()}
        want_maps = {layer.name: layer.shape for layer in self.feature_layers}
        if have_maps != want_maps:
            found.append(f"feature layers are {have_maps}, the card says {want_maps}")
        return found

    def __str__(self) -> str:
        lines = [self.summary()]
        sizes = f"z_dim {self.z_dim}, w_dim {self.w_dim}, num_ws {self.num_ws}"
        lines.append(f"  {sizes}, latent space {self.latent_space}")
        if self.class_names:
            lines.append(f"  classes (c_dim {self.c_dim}): {', '.join(self.class_names)}")
        lines.append("  layer-wise latents (ws index, name, resolution, group):")
        lines += [f"    {i:>3}  {x.name:<14} {x.resolution:>4}²  {x.group}" for i, x in enumerate(self.ws)]
        if self.feature_layers:
            lines.append("  feature layers (name, channels × resolution², group):")
            lines += [f"    {x.name:<14} {x.channels:>5} × {x.resolution:>3}²  {x.group}" for x in self.feature_layers]
        else:
            lines.append("  feature layers: none (directions live in the layer-wise latents)")
        groups = [f"{g} {list(self.layers(g))}" for g in GROUPS if self.layers(g)]
        lines.append(f"  ws indices by group: {', '.join(groups)}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython shows the table, not the dataclass
        p.text(str(self))
