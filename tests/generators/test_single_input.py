import numpy as np
import pytest
import torch
from torch import nn

import semwidget
from semwidget.generators import SingleInputGenerator


def test_dcgan_layout_is_recognised(tiny_dcgan):
    assert isinstance(tiny_dcgan, SingleInputGenerator)
    assert (tiny_dcgan.z_dim, tiny_dcgan.w_dim, tiny_dcgan.num_ws, tiny_dcgan.img_resolution) == (8, 8, 1, 16)
    assert list(tiny_dcgan.feature_layers) == ["main.2", "main.5"]
    assert tiny_dcgan.feature_layers["main.2"].shape == (16, 4, 4)


def test_synthesize_matches_the_raw_module(tiny_dcgan):
    lat = tiny_dcgan.sample(3, seed=1)
    img = tiny_dcgan.synthesize(lat, batch_size=2)
    with torch.no_grad():
        raw = tiny_dcgan.module(lat.ws[:, 0].view(3, 8, 1, 1))
    assert img.shape == (3, 3, 16, 16)
    assert torch.allclose(img, raw)
    assert img.min() >= -1 and img.max() <= 1


def test_pggan_linear_first_layer(tiny_pggan):
    assert tiny_pggan.z_dim == 6 and tiny_pggan.img_resolution == 8
    w = tiny_pggan.projection_weights()[0]
    assert w.matrix.shape == (128, 6)
    assert np.allclose(w.matrix, tiny_pggan.module.fc.weight.detach().numpy())
    assert tiny_pggan.synthesize(tiny_pggan.sample(2)).shape == (2, 3, 8, 8)


def test_projection_rows_are_output_units_and_kernel_positions(tiny_dcgan):
    w = tiny_dcgan.projection_weights()[0]
    weight = tiny_dcgan.module.main[0].weight.detach()  # (in=z, out, 4, 4)
    assert w.matrix.shape == (16 * 16, 8)
    # Row (out=o, ky, kx) holds the z-weights feeding output unit o at that kernel position.
    assert np.allclose(w.matrix[5 * 16 + 2 * 4 + 3], weight[:, 5, 2, 3].numpy())


def test_feature_projection_reads_the_next_layer(tiny_dcgan):
    m = tiny_dcgan.feature_projection("main.2")
    assert m.shape == (8 * 16, 16)  # (out channels × kernel positions, in channels)
    with pytest.raises(ValueError, match="no feature layer 'nope'"):
        tiny_dcgan.feature_projection("nope")


def test_activations_stop_at_the_layer(tiny_dcgan):
    lat = tiny_dcgan.sample(2)
    act = tiny_dcgan.activations(lat, "main.5")
    assert act.shape == (2, 8, 8, 8)
    assert (act >= 0).all()  # after a ReLU
    with pytest.raises(ValueError, match="unknown feature layer 'main.0'"):
        tiny_dcgan.activations(lat, "main.0")


def test_conditional_generator_takes_one_hot_classes():
    class Cond(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(6, 4, 4, 1, 0), nn.ReLU(), nn.ConvTranspose2d(4, 3, 4, 2, 1), nn.Tanh()
            )

        def forward(self, z, c):
            return self.main(torch.cat([z.flatten(1), c], 1)[:, :, None, None])

    torch.manual_seed(0)
    g = semwidget.as_generator(Cond(), c_dim=2, class_names=("a", "b"))
    assert g.z_dim == 4 and g.c_dim == 2
    a = g.synthesize(g.sample(1, class_index=0))
    b = g.synthesize(g.sample(1, class_index=1))
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match=r"class_index must be an int in \[0, 2\)"):
        g.sample(1, class_index=5)
    with pytest.raises(ValueError, match="unconditional"):
        semwidget.as_generator(nn.Sequential(nn.Linear(3, 48), nn.Unflatten(1, (3, 4, 4)), nn.Tanh())).sample(
            1, class_index=0
        )


def test_unknown_objects_list_the_supported_layouts():
    with pytest.raises(TypeError, match="supported generator layouts") as info:
        semwidget.as_generator(nn.Conv2d(3, 3, 1))
    assert "DCGAN/PGGAN-like" in str(info.value)
    with pytest.raises(TypeError, match="matches none"):
        semwidget.as_generator("not a model")


def test_truncation_is_refused_without_one(tiny_dcgan):
    with pytest.raises(ValueError, match="has no truncation"):
        tiny_dcgan.sample(1, truncation=0.5)


def test_half_precision_on_cpu_is_not_required_but_float32_is_default(tiny_dcgan):
    assert tiny_dcgan.dtype == torch.float32 and tiny_dcgan.device.type in ("cpu", "cuda")


def test_two_threads_never_see_each_others_edits(tiny_dcgan):
    """A widget renders in a worker thread while the notebook synthesizes: hooks must not leak."""
    import threading

    import semwidget

    lat = tiny_dcgan.sample(4)
    d = semwidget.Directions(vectors=np.ones((1, 16)), scores=[1.0], space="main.2", model=tiny_dcgan)
    edited = semwidget.edit(lat, d, 50.0)
    plain_ref = tiny_dcgan.synthesize(lat)
    edited_ref = tiny_dcgan.synthesize(edited)
    failures = []

    def loop(latents, reference):
        for _ in range(30):
            if not torch.equal(tiny_dcgan.synthesize(latents), reference):
                failures.append(1)

    threads = [threading.Thread(target=loop, args=a) for a in ((lat, plain_ref), (edited, edited_ref))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
