import pytest
import torch

from semwidget import Latents


def test_sample_is_deterministic_per_seed(tiny_dcgan):
    a = tiny_dcgan.sample(5, seed=10)
    b = tiny_dcgan.sample(seeds=[12])
    assert a.seeds == (10, 11, 12, 13, 14)
    assert torch.equal(a.ws[2], b.ws[0])
    assert torch.equal(tiny_dcgan.sample(5, seed=10).ws, a.ws)
    assert not torch.equal(tiny_dcgan.sample(5, seed=11).ws, a.ws)


def test_indexing_keeps_fields_aligned(tiny_dcgan):
    lat = tiny_dcgan.sample(4, seed=0)
    part = lat[[3, 1]]
    assert part.seeds == (3, 1)
    assert torch.equal(part.ws[0], lat.ws[3])
    assert part.model == lat.model and part.space == "z"
    joined = Latents.concat([lat[:2], lat[2:]])
    assert torch.equal(joined.ws, lat.ws) and joined.seeds == lat.seeds


@pytest.mark.parametrize("shape", [(4, 8), (4, 2, 8, 1)])
def test_wrong_latent_shape_is_refused(shape):
    with pytest.raises(ValueError, match=r"shape \(n, num_ws, w_dim\)"):
        Latents(ws=torch.zeros(shape))


def test_synthesize_rejects_latents_of_the_wrong_width(tiny_dcgan):
    with pytest.raises(ValueError, match=r"expected \(n, 1, 8\)"):
        tiny_dcgan.synthesize(Latents(ws=torch.zeros(2, 1, 9)))
    with pytest.raises(TypeError, match="semwidget.Latents"):
        tiny_dcgan.synthesize(torch.zeros(2, 8))


def test_concat_refuses_mixed_models(tiny_dcgan, tiny_pggan):
    with pytest.raises(ValueError, match="different models"):
        Latents.concat([tiny_dcgan.sample(1), tiny_pggan.sample(1)])
