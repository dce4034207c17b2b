"""SeFa speed beside the reference recipe, with 1 and 2 BLAS threads.

Cases: the real digiface DCGAN's first layer (8192 × 100), and StyleGAN2-1024-shaped
random weights, all 18 layer-wise latents (the 17 convolutions' style affines and the
last ToRGB's, 6,080 × 512). Target (DESIGN.md): the 1024 case under 0.2 s on CPU.

The reference recipe is genforce/sefa's ``factorize_weight``, written out here from
the paper's code: the style weights transposed to (w_dim, outputs), concatenated in
float32, each column scaled to unit norm, ``np.linalg.eig`` of ``W Wᵀ``. Both sides
start from the module's tensors and run in this process one after the other, under
``threadpool_limits`` of 1 and then 2 BLAS threads, so the ratio ours / reference
compares like with like. The last column is ``SeFa.fit`` with no outside limit (the
BLAS default: one thread per core, which on a loaded machine is what made small
eigen-decompositions 100× slower before SeFa limited its own threads).

Times are medians of 7 runs after one warm-up, on an already-built adapter (building a
1024 generator is not part of SeFa). About 30 s in all on two cores.

    python benchmarks/sefa.py
"""

from __future__ import annotations

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import semwidget
from semwidget.nets import StyleGAN2


def reference(weights: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """genforce/sefa's recipe on weights already shaped (w_dim, outputs)."""
    weight = np.concatenate([w.cpu().detach().numpy() for w in weights], axis=1).astype(np.float32)
    weight = weight / np.linalg.norm(weight, axis=0, keepdims=True)
    values, vectors = np.linalg.eig(weight.dot(weight.T))
    return vectors.T, values


def dcgan_weights(g: semwidget.Generator) -> list[torch.Tensor]:
    # ConvTranspose2d (z, out, kh, kw): one column per output unit and kernel position.
    w = g.module.main[0].weight
    return [w.permute(1, 2, 3, 0).reshape(-1, w.shape[0]).T]


def stylegan2_weights(net: StyleGAN2) -> list[torch.Tensor]:
    # genforce's layer_idx="all" on StyleGAN2: every conv's style, then the last ToRGB's.
    mods = [net.conv1.conv.modulation] + [c.conv.modulation for c in net.convs] + [net.to_rgbs[-1].conv.modulation]
    return [m.weight.T for m in mods]


def row(label: str, ours, ref) -> str:
    cells = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            t_ours = _common.median_seconds(ours)
            t_ref = _common.median_seconds(ref)
        cells.append(f"{t_ours * 1000:7.1f} {t_ref * 1000:7.1f} {t_ours / t_ref:5.2f}x")
    t_default = _common.median_seconds(ours)
    return f"{label:<34} " + "   ".join(cells) + f"   {t_default * 1000:8.1f}"


def main() -> None:
    torch.manual_seed(0)
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"torch {torch.__version__}, numpy {np.__version__}; BLAS default: {blas}")
    print(f"{'':<34} {'1 BLAS thread: ours   ref  ratio':<33}   {'2 BLAS threads: ours   ref  ratio':<33}   default")

    dcgan = semwidget.load("digiface-dcgan", device="cpu")
    print(
        row(
            "digiface-dcgan, 8192 x 100",
            lambda: semwidget.SeFa(n_directions=10).fit(dcgan),
            lambda: reference(dcgan_weights(dcgan)),
        )
    )

    net = StyleGAN2(1024, 512, 8, channel_multiplier=2)  # random weights, the FFHQ-1024 shapes
    g = semwidget.as_generator(net, device="cpu", latent_avg=torch.zeros(512))
    rows = sum(w.matrix.shape[0] for w in g.projection_weights())
    print(
        row(
            f"StyleGAN2-1024, {g.num_ws} ws, {rows} x 512",
            lambda: semwidget.SeFa(n_directions=10).fit(g),
            lambda: reference(stylegan2_weights(net)),
        )
    )
    print("(times in ms, medians of 7; ratio = ours / reference; target for the 1024 case: < 200 ms)")


if __name__ == "__main__":
    main()
