"""training/finetune_synthesis.py on the shipped shapes-stylegan2, a few steps of batch 2:
an interrupted run resumed to the same weights, the refusals, and the export semwidget loads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import semwidget

TRAINING = Path(__file__).resolve().parents[2] / "training"
FEW = ["--batch", "2", "--eval-every", "0", "--minutes", "5"]

pytestmark = pytest.mark.zoo


def _import():
    key = "_semwidget_training_finetune_synthesis"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, TRAINING / "finetune_synthesis.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


finetune = _import()


def _checkpoint(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", weights_only=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """(a, b): a run of 3 steps, and one stopped at 2 and resumed to 3."""
    root = tmp_path_factory.mktemp("finetune")
    torch.set_num_threads(1)
    finetune.main(["--out", str(root / "a"), *FEW, "--until", "3"])
    finetune.main(["--out", str(root / "b"), *FEW, "--until", "2"])
    assert _checkpoint(root / "b")["step"] == 2
    finetune.main(["--out", str(root / "b"), "--resume", "--eval-every", "0", "--until", "3"])
    return root / "a", root / "b"


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(runs):
    a, b = (_checkpoint(r) for r in runs)
    assert a["step"] == b["step"] == 3
    for part in ("g", "g_ema", "enc"):
        for key, value in a[part].items():
            torch.testing.assert_close(b[part][key], value, rtol=0, atol=0, msg=f"{part}.{key}")


def test_the_synthesis_trains_and_the_mapping_does_not(runs):
    shipped = semwidget.load("shapes-stylegan2", device="cpu").module.state_dict()
    trained = _checkpoint(runs[0])["g"]
    moved = {k for k, v in trained.items() if not torch.equal(v, shipped[k].to(v.dtype))}
    assert moved and all(not k.startswith("style.") for k in moved)
    assert any(k.startswith("convs.") for k in moved) and any(k.startswith("to_rgbs.") for k in moved)


def test_refusals(runs, tmp_path):
    a, _ = runs
    with pytest.raises(SystemExit):  # a new run over a checkpoint
        finetune.main(["--out", str(a), *FEW, "--until", "1"])
    with pytest.raises(SystemExit):  # a resume with another configuration
        finetune.main(["--out", str(a), "--resume", "--lr", "0.5", "--until", "4"])
    assert _checkpoint(a)["step"] == 3


def test_the_export_loads_with_semwidget_load(runs):
    a, _ = runs
    finetune.main(["--out", str(a), "--export"])
    g = semwidget.load(a / "g_ema_fp16.pt", device="cpu")
    assert g.num_ws == 10 and g.img_resolution == 64
    ema = _checkpoint(a)["g_ema"]
    state = g.module.state_dict()
    torch.testing.assert_close(state["convs.0.conv.weight"], ema["convs.0.conv.weight"].half().float())
    record = torch.load(a / "g_ema_fp16.pt", weights_only=True)["finetune"]
    assert record["step"] == 3 and record["batch"] == 2


def test_evaluate_compares_the_shipped_generator_with_the_run(runs, caplog):
    a, _ = runs
    with caplog.at_level("INFO", logger="finetune_synthesis"):
        finetune.main(["--out", str(a), "--evaluate", "1"])
    lines = [r.getMessage() for r in caplog.records if "factor error" in r.getMessage()]
    assert [line.split(":")[0] for line in lines] == ["shipped", "step 3"]
    assert all("PSNR" in line and "×" in line for line in lines)
