"""ContinuousFactor: a fit that recovers a planted shift direction, editing, the cache, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

import semwidget
from semwidget.common._progress import report_to
from semwidget.continuous import ContinuousFactor, OutOfRangeWarning
from tests.continuous.blobs import PER_UNIT, RES, SMALL, blob


def _centre_x(images: torch.Tensor) -> np.ndarray:
    w = (images[:, 0] + 1).clamp_min(0) ** 4
    xs = torch.arange(RES, dtype=torch.float32) + 0.5
    return ((w * xs).sum((1, 2)) / w.sum((1, 2))).numpy()


def test_fit_recovers_the_planted_direction_and_its_scale(fitted):
    g, cf = fitted
    v = cf.direction_.vectors[0]
    assert v[0] > 0.97, v  # z[0] moves the blob right: v points along +z[0]
    t = cf.g_.t
    assert np.allclose(cf.g_(t), t / PER_UNIT, rtol=0.15, atol=0.05)
    assert cf.direction_.method == "continuous" and cf.direction_.labels == ("shift_x",)
    assert cf.direction_.space == "z" and cf.direction_.model["fingerprint"] == g.fingerprint
    summary = cf.trajectories_
    assert summary.error.shape == (6, 4) and summary.t.tolist() == [-0.25, -0.125, 0.125, 0.25]
    assert summary.kept.all()  # reject=0.1 of 6 drops none
    assert (summary.residual < 0.2).all()
    assert 0.5 < cf.explained_ <= 1
    # On held-out samples the edit moves the disc by t widths (t · 16 pixels).
    latents = g.sample(5, seed=1000)
    before = _centre_x(g.synthesize(latents))
    for amount in (-0.2, 0.1, 0.25):
        moved = _centre_x(g.synthesize(cf.edit(latents, amount))) - before
        assert np.allclose(moved, amount * RES, atol=0.9), (amount, moved)  # a disc can leave the frame


def test_edit_is_the_identity_at_zero_takes_one_t_per_sample_and_clamps(fitted, tmp_path: Path):
    g, cf = fitted
    latents = g.sample(3, seed=7)
    assert torch.equal(cf.edit(latents, 0.0).ws, latents.ws)
    each = cf.edit(latents, [0.0, 0.1, -0.1])
    assert torch.equal(each.ws[0], latents.ws[0])
    assert torch.allclose(each.ws[1:2], cf.edit(latents[1], 0.1).ws)
    assert cf.step(0.1) == pytest.approx(cf.g_(0.1)) and cf.amount(cf.step(0.1)) == pytest.approx(0.1)
    with pytest.warns(OutOfRangeWarning, match="outside the fitted range"):
        far = cf.edit(latents, 0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.equal(far.ws, cf.edit(latents, 0.25).ws)
    with pytest.raises(ValueError, match=r"t must be one amount or one per sample \(3\)"):
        cf.edit(latents, [0.1, 0.2])
    with pytest.raises(ValueError, match="not fitted yet"):
        ContinuousFactor("zoom").edit(latents, 0.1)
    # The direction works wherever directions do, and saves like any other.
    assert torch.allclose(semwidget.edit(latents, cf.direction_, cf.step(0.1)).ws, cf.edit(latents, 0.1).ws)
    saved = semwidget.Directions.load(cf.direction_.save(tmp_path / "shift"), g)
    assert np.array_equal(saved.vectors, cf.direction_.vectors) and saved.notes["step"] == cf.g_.step.tolist()
    assert cf.direction_.notes["recipe"] == (
        "semwidget.ContinuousFactor('shift_x', learning_rate=0.1, n_trajectories=6, steps_per_target=20, "
        "t_max=0.25, t_steps=2)"
    )


def test_sklearn_protocol():
    cf = ContinuousFactor("zoom", t_steps=4, layers=[0, 1])
    assert clone(cf).get_params() == cf.get_params()
    with pytest.raises(ValueError, match="'n_trajectories' parameter of ContinuousFactor must be"):
        ContinuousFactor("zoom", n_trajectories=1).fit(blob())
    with pytest.raises(ValueError, match="'transform' parameter of ContinuousFactor must be"):
        ContinuousFactor("spin").fit(blob())


def _interrupt_after(ticks: int):  # type: ignore[no-untyped-def]
    class Stop(Exception):
        pass

    def listener(label: str, done: int, total: int) -> None:
        if done >= ticks:
            raise Stop

    return Stop, listener


def test_an_interrupted_fit_resumes_to_the_uninterrupted_result(fitted, tmp_path: Path):
    g, whole = fitted
    cache = tmp_path / "shift"
    # 20 steps per target: stop 5 steps into the second target of every branch.
    stop, listener = _interrupt_after(25)
    with pytest.raises(stop), report_to(listener):
        ContinuousFactor("shift_x", cache=cache, **SMALL).fit(g)
    assert (cache / "settings.json").exists() and len(list(cache.glob("seed-*.npz"))) == 6
    seen: list[tuple[int, int]] = []
    with report_to(lambda label, done, total: seen.append((done, total))):
        resumed = ContinuousFactor("shift_x", cache=cache, **SMALL).fit(g)
    assert seen[-1] == (20, 20)  # only the second target ran again
    assert np.array_equal(resumed.direction_.vectors, whole.direction_.vectors)
    assert np.array_equal(resumed.g_.step, whole.g_.step)
    # A finished cache is read, not recomputed, and more trajectories extend it.
    seen.clear()
    with report_to(lambda label, done, total: seen.append((done, total))):
        ContinuousFactor("shift_x", cache=cache, **SMALL).fit(g)
    assert seen == []


def test_a_cache_made_with_other_settings_or_damaged_is_refused_and_left_alone(fitted, tmp_path: Path):
    g, _ = fitted
    cache = tmp_path / "c"
    settings = dict(SMALL, n_trajectories=2, steps_per_target=2)
    ContinuousFactor("shift_x", cache=cache, **settings).fit(g)
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    with pytest.raises(semwidget.ModelMismatchError, match=r"other settings: sigma=3.0 \(this fit: 2.0\)"):
        ContinuousFactor("shift_x", cache=cache, **dict(settings, sigma=2.0)).fit(g)
    with pytest.raises(semwidget.ModelMismatchError, match="transform="):
        ContinuousFactor("shift_y", cache=cache, **settings).fit(g)
    (cache / "seed-1.npz").write_bytes(b"not a zip at all")
    with pytest.raises(semwidget.FileFormatError, match="seed-1.npz is not a continuous-factor trajectory"):
        ContinuousFactor("shift_x", cache=cache, **settings).fit(g)
    assert (cache / "seed-1.npz").read_bytes() == b"not a zip at all"
    (cache / "settings.json").write_text("{broken")
    with pytest.raises(semwidget.FileFormatError, match="settings.json is not"):
        ContinuousFactor("shift_x", cache=cache, **settings).fit(g)
    assert {p.name for p in cache.iterdir()} == set(before)


def test_bad_input_gives_clear_errors(tmp_path: Path):
    g = blob()
    quick = dict(SMALL, n_trajectories=2, steps_per_target=1)
    cases = [
        (dict(transform=lambda x, t: (x[:, :, :8], torch.ones(RES, RES))), r"returned images of shape \(2, 3, 8, 16\)"),
        (dict(transform=lambda x, t: (x, None)), "returned no mask"),
        (dict(transform=lambda x, t: x), r"expected a pair \(images, mask\)"),
        (dict(t_max=0.0), r"the t range \[0, 0\] includes no non-zero value"),
        (dict(t_max=(0, 0)), "includes no non-zero value"),
        (dict(t_max=(0.1, 0.2)), "must be finite and contain 0"),
        (dict(t_max=0.05, t_steps=3), r"the 16-pixel model is too small for shift_x steps of t=-0.0166667"),
        (dict(t_max=0.9, t_steps=1), r"shift_x at t=-0.9 leaves 6 % of the image valid \(at least 20 % needed\)"),
        (dict(transform="zoom", t_max=1.0), r"zoom takes t in \(-1, inf\)"),
        (dict(space="w"), "space='w' does not fit blob, a single-input generator"),
        (dict(layers=[0]), "layers= applies to style-based generators"),
    ]
    for changes, message in cases:
        params = dict(quick, transform="shift_x")
        params.update(changes)
        with pytest.raises(ValueError, match=message):
            ContinuousFactor(**params).fit(g)
    # A cache path that is a file is refused, and the file left as it was.
    path = tmp_path / "file"
    path.write_text("mine")
    with pytest.raises(semwidget.FileFormatError, match="is a file, not a folder"):
        ContinuousFactor("shift_x", cache=path, **quick).fit(g)
    assert path.read_text() == "mine"


def test_progress_ticks_once_per_step_of_each_batch():
    seen: list[tuple[str, int, int]] = []
    params = dict(SMALL, n_trajectories=3, steps_per_target=2, batch_size=2)
    with report_to(lambda label, done, total: seen.append((label, done, total))):
        ContinuousFactor("shift_x", **params).fit(blob())
    # Two batches (2 + 1 seeds) × 2 targets × 2 steps.
    assert [s[1] for s in seen] == list(range(1, 9)) and seen[-1] == ("shift_x trajectories", 8, 8)


@pytest.mark.parametrize("sigma", [0.0, 1.5, 3.0])
def test_the_trajectory_loss_is_inversions_blurred_mse_at_a_fixed_sigma(sigma):
    from semwidget.continuous._trajectories import BlurredMaskedMSE
    from semwidget.inversion import BlurredMSE

    gen = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 3, 20, 20, generator=gen), torch.rand(3, 3, 20, 20, generator=gen)
    mask = (torch.rand(3, 1, 20, 20, generator=gen) > 0.3).float()
    ours = BlurredMaskedMSE(sigma)(pred, target, mask)
    theirs = BlurredMSE(sigma=sigma, final_sigma=sigma, anneal=0.0)(pred, target, mask)
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_style_models_move_w_or_w_plus_on_the_chosen_layers_and_conditional_models_fit():
    from torch import nn

    from semwidget.nets import StyleGAN2

    torch.manual_seed(0)
    style = semwidget.as_generator(
        StyleGAN2(16, 8, 2, channel_multiplier=1, channel_max=8),
        device="cpu",
        name="tiny-style",
        latent_avg=torch.zeros(8),
    )
    quick = dict(n_trajectories=2, t_max=0.25, t_steps=1, steps_per_target=2, progress=False)
    with pytest.raises(ValueError, match="space='z' does not fit tiny-style, a style-based generator"):
        ContinuousFactor("shift_x", space="z", **quick).fit(style)
    for space in ("w", "w+"):
        cf = ContinuousFactor("shift_x", space=space, layers=[0, 1], **quick).fit(style)
        d = cf.direction_
        assert d.space == space and d.layers == (0, 1) and d.dim == style.w_dim
        latents = style.sample(2, seed=5)
        moved = cf.edit(latents, 0.25).ws
        assert torch.equal(moved[:, 2:], latents.ws[:, 2:]) and not torch.equal(moved[:, :2], latents.ws[:, :2])
    all_layers = ContinuousFactor("zoom", **quick).fit(style)
    assert all_layers.direction_.space == "w" and all_layers.direction_.layers is None

    class Conditional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 3 * 16 * 16)

        def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.fc(torch.cat([z, c], 1))).view(-1, 3, 16, 16)

    cond = semwidget.as_generator(Conditional(), device="cpu", c_dim=2, name="tiny-cond")
    cf = ContinuousFactor("brightness", **quick).fit(cond)
    assert cf.direction_.space == "z" and cf.direction_.dim == cond.z_dim
    assert cond.synthesize(cf.edit(cond.sample(2, class_index=1), 0.2)).shape == (2, 3, 16, 16)


def _left_only_shift(images, t):
    """shift_x, but an image whose disc sits in the right half has no valid pixel (like a
    near-black face darkened: an image that cannot show the transformation)."""
    shifted, mask = semwidget.continuous.TRANSFORMS["shift_x"](images, t)
    left = images[:, 0, :, : RES // 2].mean((1, 2)) > images[:, 0, :, RES // 2 :].mean((1, 2))
    return shifted, mask.expand(len(images), 1, RES, RES) * left[:, None, None, None].to(mask)


def test_seeds_whose_images_cannot_show_the_transformation_are_left_out_with_a_warning():
    g = blob()
    seeds = list(range(8))
    right = [s for s in seeds if _centre_x(g.synthesize(g.sample(1, seed=s)))[0] > RES / 2]
    assert 2 <= len(right) <= 6  # the case needs both kinds among the seeds
    cf = ContinuousFactor(_left_only_shift, **dict(SMALL, n_trajectories=8, reject=0.0))
    with pytest.warns(semwidget.continuous.UsableSeedsWarning, match=rf"{len(right)} of 8 seeds .* left out"):
        cf.fit(g)
    assert [int(s) for s in cf.trajectories_.seeds[~cf.trajectories_.kept]] == right
    assert np.isfinite(cf.trajectories_.error).all() and cf.direction_.vectors[0][0] > 0.8  # still along +z[0]
    # When fewer than two seeds can show it, the fit is refused before any trajectory runs.
    never = lambda x, t: (x, torch.zeros(RES, RES))  # noqa: E731
    with pytest.raises(ValueError, match=r"leaves 0 % of the image valid \(at least 20 % needed\)"):
        ContinuousFactor(never, **dict(SMALL, n_trajectories=4)).fit(g)
