import pickle

import pytest
import torch

import semwidget
from semwidget.nets import DCGAN
from semwidget.zoo._load import UntrustedPickleError


def test_dcgan_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    net = DCGAN(z_dim=16, ngf=8).eval()
    path = tmp_path / "g.pt"
    torch.save({"netG_state_dict": net.state_dict()}, path)
    g = semwidget.load(path, device="cpu")
    assert (g.z_dim, g.img_resolution) == (16, 64)
    lat = g.sample(2)
    with torch.no_grad():
        assert torch.allclose(g.synthesize(lat), net(lat.ws[:, 0, :, None, None]))


def test_corrupt_checkpoint_is_refused(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ValueError, match="could not read checkpoint"):
        semwidget.load(path)


def test_wrong_architecture_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match="no checkpoint layout semwidget knows"):
        semwidget.load(path)
    torch.save({"main.0.weight": torch.zeros(16, 64, 4, 4), "main.1.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="does not match its layout"):
        semwidget.load(path)


def test_pickle_needs_the_callers_trust(tmp_path):
    path = tmp_path / "network.pkl"
    torch.manual_seed(0)
    with open(path, "wb") as f:
        pickle.dump({"G_ema": DCGAN(z_dim=8, ngf=4)}, f)
    with pytest.raises(UntrustedPickleError, match="trust_pickle=True"):
        semwidget.load(path)
    g = semwidget.load(path, trust_pickle=True, device="cpu")
    assert g.z_dim == 8


def test_missing_path_is_explained(tmp_path):
    with pytest.raises(ValueError, match="neither a zoo model nor an existing file"):
        semwidget.load(tmp_path / "nothing.pt")
