"""GAN inversion: how close ``semwidget.invert`` gets, how fast, and whether edits survive it.

    python benchmarks/inversion.py [--threads 1] [--images 8] [--steps 0,50,200] [--long]
                                   [--photo PATH --photo-box L,T,R,B] [--only world|faces]
                                   [--edits-only] [--noise]

Two models, each on images it never saw:

* ``shapes-stylegan2`` on fresh world renders (real renders, not samples: the model can
  only approximate them). Besides PSNR/SSIM, the *factor error* of the reconstructions
  (the world's own predictor on the reconstruction against the true factors, relative
  to the predictor's error on the renders themselves) and the *edit fidelity*: an
  InterFaceGAN boundary per continuous factor (fitted on 2,000 samples), applied at
  ±2σ to inverted latents and to sampled ones; fidelity is the factor's change on the
  inverted latents over its change on the samples, leakage the mean change of the other
  factors (both in units of the change between two unrelated scenes).
* ``digiface-dcgan`` in domain (its own samples at held-out seeds 90,000,000 + i, exactly
  reachable) and out of domain (a real photograph: scikit-image's ``astronaut.png``,
  cropped to the face, when scikit-image is installed, or ``--photo``).

Every run reports its time as a multiple of one forward-backward pass of the same batch
measured in the same process (``fb``), so budgets read the same on a busy or an idle
machine, and as seconds per image. Baselines are plain Adam on MSE with a cosine
ramp-down, no warm-up, no latent noise, no encoder (from the mean w / a random z).
``--noise`` adds the defaults with the generator's noise inputs optimised too
(``optimize_noise=True``, shapes-stylegan2 only: the DCGAN has none).

The defaults (8 images per set, steps 0, 50, 200 and the defaults' own count) take about
12 minutes on two busy cores with one torch thread (682 s measured, before the
"defaults from the baseline's start" rows were added); ``--long`` adds 1,000-step runs.
One thread because the two cores are shared: with two threads, a busy machine made
every convolution several times slower (threads spinning for a core).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import _common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import torch

import semwidget
from semwidget.inversion import DEFAULT_STEPS, Inversion, Schedule, invert
from semwidget.inversion._space import default_space

#: Seeds never used for training anything here: world renders and digiface samples.
WORLD_SEED = 20_261_201
FACE_SEED = 90_000_000
#: The boundaries' factors (continuous, not circular) and their step.
EDIT_FACTORS = ("horizon", "view", "scale", "position", "lighting")
EDIT_SIGMAS = 2.0
BASELINE = Schedule(lr=0.1, warmup=0.0, rampdown=0.25, noise=0.0)
#: The issue's targets for the defaults: (mean PSNR, worst PSNR, budget in fb passes).
TARGETS = {"shapes-stylegan2": (34.0, 0.0, 300), "digiface-dcgan": (30.0, 25.0, 500)}


@dataclass
class Row:
    model: str
    images: str
    run: str
    space: str
    steps: int
    fb: float  # wall time / one forward-backward pass of the batch
    s_per_image: float
    psnr: float
    psnr_min: float
    ssim: float

    def line(self) -> str:
        return (
            f"| {self.model} | {self.images} | {self.run} | {self.space} | {self.steps} | {self.fb:.0f} | "
            f"{self.s_per_image:.2f} | {self.psnr:.2f} | {self.psnr_min:.2f} | {self.ssim:.3f} |"
        )


HEADER = (
    "| model | images | run | space | steps | time (fb passes) | s / image | PSNR mean | PSNR worst | SSIM |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|"
)


def fb_seconds(g: semwidget.Generator, x: torch.Tensor, repeats: int = 5) -> float:
    """Median time of one forward-backward pass (render, MSE, backward) of the batch."""
    ws = g.sample(len(x), seed=0).ws.detach().clone().requires_grad_(True)
    target = x.to(g.device)

    def once() -> None:
        ws.grad = None
        (g.render(ws) - target).square().mean().backward()

    once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(
    g: semwidget.Generator, x: torch.Tensor, fb: float, model: str, images: str, run: str, **kwargs: object
) -> tuple[Row, Inversion]:
    """One inversion; its time in fb passes measured just before and just after it (the
    mean of the two), so a machine whose load changes keeps the ratio honest."""
    before = fb_seconds(g, x, repeats=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no encoder" is reported in the table's init column
        start = time.perf_counter()
        inv = invert(g, x, progress=False, **kwargs)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
    fb = (before + fb_seconds(g, x, repeats=3)) / 2
    label = f"{run} (init {inv.init})"
    row = Row(
        model,
        images,
        label,
        inv.space,
        inv.steps,
        seconds / fb,
        seconds / len(x),
        float(inv.psnr.mean()),
        float(inv.psnr.min()),
        float(inv.ssim.mean()),
    )
    print(row.line(), flush=True)
    return row, inv


def sweep(g, x, fb, model, images, steps_list, long, baseline_init, defaults_only=False, noise=False):
    """Baselines, the defaults and the defaults at other step counts; returns the defaults' inversion.
    With ``defaults_only``, the defaults alone (what the factor error and edit fidelity need);
    with ``noise``, also the defaults with the noise inputs optimised (models that have them)."""
    rows = []
    space = default_space(g)
    spaces = ("w+", "w") if space == "w+" else ("z",)
    for sp in spaces if not defaults_only else ():
        for steps in (300, 1000) if long else (300,):
            rows.append(
                measure(
                    g,
                    x,
                    fb,
                    model,
                    images,
                    "baseline: Adam, MSE",
                    space=sp,
                    steps=steps,
                    loss="mse",
                    init=baseline_init,
                    schedule=BASELINE,
                )[0]
            )
    row, default = measure(g, x, fb, model, images, "**defaults**")
    rows.append(row)
    mean_target, worst_target, budget = TARGETS[model]
    verdict = row.psnr >= mean_target and row.psnr_min >= worst_target and row.fb <= budget
    print(
        f"<!-- target: mean >= {mean_target} dB, worst >= {worst_target} dB within {budget} fb passes: "
        f"{'met' if verdict else 'NOT met'} -->",
        flush=True,
    )
    if noise and g.noise_shapes:
        rows.append(measure(g, x, fb, model, images, "defaults, noise optimised", optimize_noise=True)[0])
    if defaults_only:
        return rows, default
    if default.init == "encoder":  # the schedule alone, from where the baseline starts
        rows.append(measure(g, x, fb, model, images, "defaults", init=baseline_init)[0])
    for steps in sorted(set(steps_list + ([1000] if long else [])) - {DEFAULT_STEPS[space]}):
        rows.append(measure(g, x, fb, model, images, "defaults", steps=steps)[0])
    if "w" in spaces:
        rows.append(measure(g, x, fb, model, images, "defaults", space="w")[0])
    return rows, default


def world(args) -> list[Row]:
    from semwidget.world import render, sample_factors, to_tensor
    from semwidget.world._measure import factor_error, factor_isolation, generated_scores, summed_factor_error
    from semwidget.world._predictor import SCORE_NAMES, FactorScorer

    g = semwidget.load("shapes-stylegan2", device="cpu")
    factors = sample_factors(args.images, np.random.default_rng(WORLD_SEED))
    x = to_tensor(render(factors))
    fb = fb_seconds(g, x)
    print(f"\nshapes-stylegan2: one forward-backward pass of {len(x)} images: {fb * 1000:.0f} ms", flush=True)
    print(HEADER)
    rows, default = sweep(
        g, x, fb, "shapes-stylegan2", "world renders", args.steps, args.long, "mean", args.edits_only, args.noise
    )

    # Factor error: the predictor on reconstructions and on the renders, against the truth.
    scorer = FactorScorer()
    names = list(SCORE_NAMES)
    own, recon = factor_error(x, factors, scorer), factor_error(default.images, factors, scorer)
    print("\nfactor error of the defaults' reconstructions (MAE in factor units; hues in turns; shape: error rate)")
    print("| factor | predictor on renders | on reconstructions | ratio |\n|---|---:|---:|---:|")
    for name, a, b in zip(names, own, recon):
        ratio = b / a if a > 0 else float("inf") if b > 0 else 1.0
        print(f"| {name} | {a:.4f} | {b:.4f} | {ratio:.2f} |")
    own_n, rec_n = summed_factor_error(own), summed_factor_error(recon)
    print(
        f"| continuous factors, summed in units of a random scene change | {own_n:.4f} | {rec_n:.4f} | "
        f"{rec_n / own_n:.2f} |"
    )

    # Edit fidelity: boundaries from samples, applied to inverted and to sampled latents.
    samples = g.sample(args.boundary_samples, seed=0)
    scores = generated_scores(g, latents=samples, scorer=scorer)
    cols = [names.index(f) for f in EDIT_FACTORS]
    boundaries = semwidget.InterFaceGAN(ratio=0.1).fit(samples, scores[:, cols], labels=list(EDIT_FACTORS))
    directions = boundaries.directions_.with_measured_sigmas(g)
    held_out = g.sample(args.images, seed=WORLD_SEED)
    iso_inv = factor_isolation(g, directions, alpha=EDIT_SIGMAS, scale="sigma", latents=default.latents, scorer=scorer)
    iso_smp = factor_isolation(g, directions, alpha=EDIT_SIGMAS, scale="sigma", latents=held_out, scorer=scorer)
    print(
        f"\nedit fidelity: InterFaceGAN boundaries at ±{EDIT_SIGMAS:g}σ on the defaults' inverted latents vs "
        f"{len(held_out)} samples (change in units of a random scene change)"
    )
    print("| boundary | change on samples | on inverted | fidelity | leakage on samples | on inverted |")
    print("|---|---:|---:|---:|---:|---:|")
    continuous = [j for j, n in enumerate(names) if n != "shape"]
    for k, factor in enumerate(EDIT_FACTORS):
        j = names.index(factor)
        others = [i for i in continuous if i != j]
        s, v = iso_smp.change[k, j], iso_inv.change[k, j]
        ls, lv = iso_smp.change[k, others].mean(), iso_inv.change[k, others].mean()
        print(f"| {factor} | {s:.3f} | {v:.3f} | {v / s:.2f} | {ls:.3f} | {lv:.3f} |")
    return rows


def photo(path: str | None) -> tuple[str | None, str]:
    """A real photograph of a face: ``--photo`` or scikit-image's astronaut, else None."""
    if path:
        return path, Path(path).name
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None, ""
    candidate = Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"
    return (str(candidate), "astronaut.png (scikit-image)") if candidate.is_file() else (None, "")


def faces(args) -> list[Row]:
    from PIL import Image

    g = semwidget.load("digiface-dcgan", device="cpu")
    x = g.synthesize(g.sample(args.images, seed=FACE_SEED))
    fb = fb_seconds(g, x)
    print(f"\ndigiface-dcgan: one forward-backward pass of {len(x)} images: {fb * 1000:.0f} ms", flush=True)
    print(HEADER)
    rows, _ = sweep(g, x, fb, "digiface-dcgan", "own samples", args.steps, args.long, "random")
    path, name = photo(args.photo)
    if path is None:
        print("\nout of domain: skipped (pip install scikit-image for its astronaut.png, or pass --photo PATH)")
        return rows
    box = tuple(int(v) for v in args.photo_box.split(",")) if args.photo_box else None
    image = Image.open(path).convert("RGB")
    image = image.crop(box) if box else image
    one = semwidget.inversion._images.prepare_images(image, g.img_resolution)
    fb1 = fb_seconds(g, one)
    print(f"\nout of domain: {name}" + (f", cropped to {box}" if box else ""))
    print(HEADER)
    for kwargs in ({"steps": 0}, {}, {"steps": 1000}):
        run = "defaults" if kwargs else "**defaults**"
        rows.append(measure(g, one, fb1, "digiface-dcgan", name.split(" ")[0], run, **kwargs)[0])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--images", type=int, default=8, help="images per set (default 8)")
    parser.add_argument("--steps", default="0,50,200", help="step counts to run the defaults at besides their own")
    parser.add_argument("--long", action="store_true", help="also 1,000-step runs (and 1,000-step baselines)")
    parser.add_argument("--boundary-samples", type=int, default=2000, help="samples the boundaries are fitted on")
    parser.add_argument("--photo", help="a photograph of a face for the out-of-domain row")
    parser.add_argument(
        "--photo-box", default="170,40,320,190", help="crop box L,T,R,B of the photograph (default: astronaut's face)"
    )
    parser.add_argument("--only", choices=("world", "faces"), help="run one model only")
    parser.add_argument(
        "--edits-only",
        action="store_true",
        help="shapes-stylegan2: the defaults, factor error and edit fidelity only (no baselines or step sweep)",
    )
    parser.add_argument(
        "--noise", action="store_true", help="also the defaults with optimize_noise=True (models with noise inputs)"
    )
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",") if s.strip()]
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.images} images per set")
    start = time.perf_counter()
    if args.only in (None, "world"):
        world(args)
    if args.only in (None, "faces"):
        faces(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
