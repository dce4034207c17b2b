"""BigGANAdapter on a toy module laid out like pytorch-pretrained-biggan's BigGAN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from semwidget import as_generator
from semwidget.generators._biggan import BigGANAdapter, looks_like_biggan
from tests.layouts.biggan import BigGAN, make_biggan

TRUNCATION = 0.4


@pytest.fixture(scope="module")
def module() -> BigGAN:
    return make_biggan(seed=0)


@pytest.fixture(scope="module")
def gen(module: BigGAN) -> BigGANAdapter:
    return as_generator(module, device="cpu", truncation=TRUNCATION)  # type: ignore[return-value]


def _blocks(module: BigGAN) -> list[int]:
    """ModuleList indices of the GenBlocks (the layers with conditional batch norms)."""
    return [i for i, layer in enumerate(module.generator.layers) if hasattr(layer, "bn_0")]


def test_as_generator_picks_biggan(gen: BigGANAdapter, module: BigGAN) -> None:
    assert looks_like_biggan(module)
    assert not looks_like_biggan(nn.Sequential(nn.Linear(4, 4)))
    assert isinstance(gen, BigGANAdapter)
    assert (gen.z_dim, gen.w_dim, gen.c_dim, gen.img_resolution) == (16, 16, 10, 16)
    assert gen.num_ws == 1 + len(_blocks(module)) == 5
    assert gen.latent_space == "z"
    assert gen.default_truncation == TRUNCATION
    assert gen.layer_names == ["gen_z", "block0", "block1", "block2 (up)", "block3 (up)"]


def test_truncation_out_of_range_raises(module: BigGAN) -> None:
    with pytest.raises(ValueError, match="truncation"):
        BigGANAdapter(module, truncation=0.0)
    with pytest.raises(ValueError, match="truncation"):
        BigGANAdapter(module, truncation=1.5)


def test_sample_is_deterministic_per_seed(gen: BigGANAdapter) -> None:
    lat = gen.sample(4, seed=7, class_index=3)
    assert lat.ws.shape == (4, gen.num_ws, gen.z_dim)
    assert lat.seeds == (7, 8, 9, 10)
    for i in range(4):
        alone = gen.sample(1, seed=7 + i, class_index=3)
        assert torch.equal(alone.ws[0], lat.ws[i])
    # Every layer starts from the same z.
    assert torch.equal(lat.ws, lat.ws[:, :1].expand_as(lat.ws))
    assert torch.equal(lat.c, torch.nn.functional.one_hot(torch.full((4,), 3), 10).float())


@pytest.mark.parametrize("psi", [TRUNCATION, 0.7, 1.0])
def test_sample_is_truncated(gen: BigGANAdapter, psi: float) -> None:
    z = gen.sample(64, seed=0, truncation=psi).ws[:, 0]
    assert z.abs().max() <= 2 * psi + 1e-6
    # Redrawn, not clipped: no entry sits on the bound, and the spread is that of a
    # truncated standard normal (std ≈ 0.88) times ψ.
    assert not torch.isclose(z.abs(), torch.tensor(2 * psi)).any()
    assert abs(z.std().item() / psi - 0.88) < 0.05


def test_synthesize_matches_module(gen: BigGANAdapter, module: BigGAN) -> None:
    lat = gen.sample(3, seed=1, class_index=[0, 4, 9])
    img = gen.synthesize(lat)
    assert img.shape == (3, 3, 16, 16)
    assert img.dtype == torch.float32
    assert img.min() >= -1 and img.max() <= 1
    with torch.no_grad():
        expected = module(lat.ws[:, 0], lat.c, TRUNCATION)
    # Same submodules, same inputs, same order: bit-identical, not merely close.
    assert torch.equal(img, expected)


@pytest.mark.parametrize("k", range(5))
def test_per_layer_edit_changes_image(gen: BigGANAdapter, k: int) -> None:
    lat = gen.sample(2, seed=3, class_index=1)
    ws = lat.ws.clone()
    ws[:, k] += 0.5
    before = gen.synthesize(lat)
    after = gen.synthesize(lat.replace(ws=ws))
    assert (after - before).abs().max() > 1e-4


def test_projection_weights_map_layers(gen: BigGANAdapter, module: BigGAN) -> None:
    weights = gen.projection_weights()
    assert {w.layer for w in weights} == set(range(gen.num_ws))
    gen_z = [w for w in weights if w.layer == 0]
    assert [w.name for w in gen_z] == ["generator.gen_z"]
    assert gen_z[0].matrix.shape == (4 * 4 * 16 * 4, 16)
    assert gen_z[0].matrix.dtype == "float64"
    torch.testing.assert_close(torch.from_numpy(gen_z[0].matrix), module.generator.gen_z.weight_orig[:, :16].double())
    for k, j in enumerate(_blocks(module)):
        block = module.generator.layers[j]
        mine = [w for w in weights if w.layer == k + 1]
        expected = [
            (f"generator.layers.{j}.bn_{b}.{part}", getattr(getattr(block, f"bn_{b}"), part))
            for b in range(4)
            for part in ("scale", "offset")
        ]
        assert [w.name for w in mine] == [name for name, _ in expected]
        for w, (_, linear) in zip(mine, expected):
            assert w.matrix.shape == (linear.out_features, 16)
            torch.testing.assert_close(torch.from_numpy(w.matrix), linear.weight_orig[:, :16].double())


def test_projection_weights_subset_and_bad_layer(gen: BigGANAdapter) -> None:
    assert {w.layer for w in gen.projection_weights([2])} == {2}
    assert len(gen.projection_weights([2])) == 8
    with pytest.raises(ValueError, match="layers"):
        gen.projection_weights([gen.num_ws])


@pytest.mark.parametrize("bad", [10, -1, [0, 10]])
def test_class_index_out_of_range_raises(gen: BigGANAdapter, bad: object) -> None:
    with pytest.raises(ValueError, match="class_index"):
        gen.sample(2, seed=0, class_index=bad)  # type: ignore[arg-type]
