import numpy as np
import pytest
import torch

import semwidget
from semwidget import Directions, edit, jitter


def _dirs(g, k=2, **kw):
    rng = np.random.default_rng(0)
    return Directions(
        vectors=rng.normal(size=(k, g.w_dim)), scores=np.arange(k, 0, -1), space=g.latent_space, model=g, **kw
    )


def test_alpha_zero_returns_the_original_latents_exactly(tiny_dcgan):
    lat = tiny_dcgan.sample(3)
    d = _dirs(tiny_dcgan)
    for out in (edit(lat, d[0], 0.0), edit(lat, d, [0, 0]), jitter(lat, d[0], 0.0, strength=0.5)):
        assert torch.equal(out.ws, lat.ws)
        assert torch.equal(tiny_dcgan.synthesize(out), tiny_dcgan.synthesize(lat))


def test_independent_and_joint_edits_add_steps(tiny_dcgan):
    lat = tiny_dcgan.sample(2)
    d = _dirs(tiny_dcgan)
    one = edit(lat, d[0], 2.0)
    assert torch.allclose(one.ws - lat.ws, 2.0 * torch.tensor(d.vectors[0], dtype=torch.float32).expand(2, 1, -1))
    joint = edit(lat, d, [2.0, -1.5])
    expected = torch.tensor(2.0 * d.vectors[0] - 1.5 * d.vectors[1], dtype=torch.float32)
    assert torch.allclose(joint.ws - lat.ws, expected.expand(2, 1, -1), atol=1e-6)
    assert not torch.equal(tiny_dcgan.synthesize(joint), tiny_dcgan.synthesize(lat))


def test_edits_touch_only_the_chosen_layers():
    ws = torch.randn(2, 5, 4)
    lat = semwidget.Latents(ws=ws)
    d = Directions(vectors=np.eye(4)[:1], scores=[1.0], space="w")
    out = edit(lat, d, 1.0, layers=[1, 3])
    changed = (out.ws != ws).any(-1).any(0).tolist()
    assert changed == [False, True, False, True, False]
    assert (edit(lat, d.with_layers([4]), 1.0).ws != ws).any(-1).any(0).tolist() == [False] * 4 + [True]
    with pytest.raises(ValueError, match=r"indices in \[0, 5\)"):
        edit(lat, d, 1.0, layers=[5])


def test_sigma_units_scale_alpha(tiny_dcgan):
    lat = tiny_dcgan.sample(1)
    d = _dirs(tiny_dcgan, k=1, sigmas=[3.0])
    assert torch.allclose(edit(lat, d, 1.0, scale="sigma").ws, edit(lat, d, 3.0).ws)
    with pytest.raises(ValueError, match="needs directions with sigmas"):
        edit(lat, _dirs(tiny_dcgan, k=1), 1.0, scale="sigma")


def test_jitter_is_seeded_and_centred_on_the_direction(tiny_dcgan):
    lat = tiny_dcgan.sample(64)
    d = _dirs(tiny_dcgan, k=1)
    a = jitter(lat, d, 2.0, strength=0.3, seed=1)
    assert torch.equal(a.ws, jitter(lat, d, 2.0, strength=0.3, seed=1).ws)
    steps = (a.ws - lat.ws)[:, 0]
    assert not torch.allclose(steps[0], steps[1])  # each sample its own noise
    mean = steps.mean(0).double().numpy()
    assert np.linalg.norm(mean - 2.0 * d.vectors[0]) < 0.2
    assert torch.equal(jitter(lat, d, 2.0, strength=0.0).ws, edit(lat, d, 2.0).ws)


def test_channel_directions_inject_at_their_feature_layer(tiny_dcgan):
    lat = tiny_dcgan.sample(2)
    d = Directions(vectors=np.ones((1, 16)), scores=[1.0], space="main.2", model=tiny_dcgan)
    out = edit(lat, d, 1.5)
    assert torch.equal(out.ws, lat.ws) and out.offsets["main.2"].shape == (2, 16)
    act = tiny_dcgan.activations(out, "main.2") - tiny_dcgan.activations(lat, "main.2")
    assert torch.allclose(act, torch.full_like(act, 1.5 / 4), atol=1e-5)  # unit vector of 16 ones = 1/4 each
    assert not torch.equal(tiny_dcgan.synthesize(out), tiny_dcgan.synthesize(lat))


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), [1.0, 2.0, 3.0]])
def test_bad_alpha_is_refused(tiny_dcgan, alpha):
    with pytest.raises(ValueError, match="alpha must"):
        edit(tiny_dcgan.sample(1), _dirs(tiny_dcgan), alpha)


def test_wrong_dimension_and_other_model_are_refused(tiny_dcgan, tiny_pggan):
    lat = tiny_dcgan.sample(1)
    with pytest.raises(ValueError, match="dimension 6 do not fit latents with w_dim=8"):
        edit(lat, Directions(vectors=np.ones((1, 6)), scores=[1], space="z"), 1.0)
    other = Directions(vectors=np.ones((1, 8)), scores=[1], space="z", model=tiny_pggan)
    with pytest.raises(ValueError, match="allow_other_model=True"):
        edit(lat, other, 1.0)
    with pytest.warns(UserWarning, match="found on model"):
        edit(lat, other, 1.0, allow_other_model=True)
