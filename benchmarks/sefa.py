"""SeFa speed: the real digiface DCGAN, and StyleGAN2-1024-shaped random weights.

Target (DESIGN.md): SeFa on StyleGAN2-1024-shaped weights (18 layer-wise latents,
w_dim 512) under 0.2 s on CPU. Times are medians of 7 runs of ``SeFa.fit`` on an
already-built adapter (building a 1024 generator is not part of SeFa).

    python benchmarks/sefa.py
"""

from __future__ import annotations

import _common  # noqa: F401  (puts the checkout on sys.path)
import torch

import semwidget
from semwidget.nets import StyleGAN2


def main() -> None:
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    dcgan = semwidget.load("digiface-dcgan", device="cpu")
    t = _common.median_seconds(lambda: semwidget.SeFa(n_directions=10).fit(dcgan))
    print(f"SeFa, digiface-dcgan first layer (8192 x 100):          median {t * 1000:7.1f} ms")
    t = _common.median_seconds(lambda: semwidget.SeFa(n_directions=10, feature_layer="main.5").fit(dcgan))
    print(f"SeFa, digiface-dcgan feature layer main.5 (2048 x 256): median {t * 1000:7.1f} ms")

    net = StyleGAN2(1024, 512, 8, channel_multiplier=2)  # random weights, the FFHQ-1024 shapes
    g = semwidget.as_generator(net, device="cpu", latent_avg=torch.zeros(512))
    rows = sum(w.matrix.shape[0] for w in g.projection_weights())
    t = _common.median_seconds(lambda: semwidget.SeFa(n_directions=10).fit(g))
    label = f"all {g.num_ws} layers ({rows} x 512)"
    print(f"SeFa, StyleGAN2-1024 shapes, {label}: median {t * 1000:7.1f} ms  (target < 200 ms)")
    t = _common.median_seconds(lambda: semwidget.SeFa(n_directions=10, layers=range(0, 4)).fit(g))
    print(f"SeFa, StyleGAN2-1024 shapes, layers 0-3:                median {t * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
