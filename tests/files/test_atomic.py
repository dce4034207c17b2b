"""Saves are atomic and leave no litter: SIGKILL at random points, readers during writes."""

import os
import random
import signal
import time

import numpy as np
import pytest

from semwidget.files import ArraySpec, load_json_npz, save_json_npz, sweep

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

N = 20_000  # 160 kB of float64 per save: long enough for kills to land mid-write


def _arrays(i):
    return {"values": np.full(N, float(i)), "index": np.arange(3, dtype=np.int64) + i}


def _expected(meta):
    return {"values": ArraySpec("<f8", (N,)), "index": ArraySpec("<i8", (3,))}


def _check(path):
    meta, arrays = load_json_npz(path, "test", _expected)
    i = meta["i"]
    assert np.all(arrays["values"] == i) and arrays["index"].tolist() == [i, i + 1, i + 2]
    return i


def _saver(path, first, count=10**9):
    """Fork a process that saves pairs i = first, first+1, ...; return its pid."""
    pid = os.fork()
    if pid == 0:  # child: only numpy and the file code, then leave without cleanup
        try:
            for i in range(first, first + count):
                save_json_npz(path, {"i": i}, _arrays(i))
        finally:
            os._exit(0)
    return pid


def _litter(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_sigkill_at_random_points_never_loses_a_completed_save(tmp_path):
    path = tmp_path / "pair"
    rng = random.Random(0)
    save_json_npz(path, {"i": 0}, _arrays(0))
    last, kills, start = 0, 0, time.monotonic()
    while kills < 200 and time.monotonic() - start < 40:
        pid = _saver(path, last + 1)
        time.sleep(rng.uniform(0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        now = _check(path)  # whatever completed last is whole
        assert now >= last
        last = now
        if kills % 10 == 0:  # the next save sweeps a killed writer's temp files
            save_json_npz(path, {"i": last + 1}, _arrays(last + 1))
            last += 1
            assert _litter(tmp_path) == []
            assert len(list(tmp_path.glob("pair.*.npz"))) <= 2
    assert kills == 200, f"only {kills} kills in the time allowed"
    assert last > 20  # the savers did make progress between kills
    sweep(tmp_path, older_than_s=0)
    assert _litter(tmp_path) == []


def test_a_reader_never_fails_while_a_writer_saves(tmp_path):
    path = tmp_path / "pair"
    save_json_npz(path, {"i": 0}, _arrays(0))
    pid = _saver(path, 1, count=150)
    reads, seen, finished = 0, set(), False
    try:
        while reads < 5000 and not finished:
            seen.add(_check(path))
            reads += 1
            finished = os.waitpid(pid, os.WNOHANG) != (0, 0)
        if not finished:
            os.waitpid(pid, 0)  # let the writer end its 150 saves
            finished = True
    finally:
        if not finished:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert len(seen) > 10 and reads > 100
    assert _check(path) == 150 and _litter(tmp_path) == []


def test_a_stale_temp_file_of_a_live_process_is_kept_until_it_is_old(tmp_path):
    live = tmp_path / f".pair.json.{os.getppid()}-abc.tmp"
    dead = tmp_path / ".pair.json.999999999-abc.tmp"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    save_json_npz(tmp_path / "pair", {"i": 1}, _arrays(1))
    assert live.exists() and not dead.exists()
    old = time.time() - 3600
    os.utime(live, (old, old))
    assert sweep(tmp_path) == 1 and not live.exists()
