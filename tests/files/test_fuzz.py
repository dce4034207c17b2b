"""Loader fuzz: thousands of damaged, truncated, oversized, bit-flipped and mislabelled
files; each loads or raises our own error, and memory stays within a few file sizes.

Checkpoints come in both of torch's formats: the zip archive (CRC-protected) and the
legacy one (torch < 1.6, no checksums: a flipped weight byte loads as another weight).
The world's factor predictor (its shipped weights, hash check off) and a probe cache
(resumed by ``probe``) are damaged the same ways. The annotations hold every member the
format has (labels with codes, real images with their codes and photos, a fitted
continuous factor, per-cell moves), and a factor saved on its own is a kind of its own."""

import io
import json
import random
import re
import resource
import time
import tracemalloc
import zipfile
from collections import Counter

import numpy as np
import pytest
import torch

import semwidget
from semwidget import Directions, FileFormatError, ModelMismatchError
from semwidget.continuous import load_factor, save_factor
from semwidget.nets import DCGAN
from semwidget.scorers import FunctionScorer
from semwidget.widget._annotations import Annotations
from semwidget.world._predictor import WEIGHTS, load_predictor

ALLOWANCE = 1 << 20  # a tiny model's objects, JSON parsing, error messages
N_CASES = {
    "directions": 900,
    "annotations": 900,
    "factor": 300,
    "checkpoint": 600,
    "legacy": 300,
    "predictor": 150,
    "probe": 300,
}


def _flip_bits(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(data, rng):
    return data[: rng.randrange(len(data))]


def _splice(data, rng):
    data = bytearray(data)
    at = rng.randrange(len(data))
    data[at : at + rng.randint(1, 16)] = rng.randbytes(rng.randint(1, 16))
    return bytes(data)


def _rezip(data, rng, edit):
    """Rewrite one member of a zip through ``edit(name, bytes)``, with valid CRCs, so the
    damage reaches past the archive checks."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in members:
            z.writestr(name, edit(name, body, rng))
    return out.getvalue()


def _huge_header(name, body, rng):
    if not name.endswith(".npy") or rng.random() < 0.5:
        return body
    shape = rng.choice([(2**31, 2**31), (10**9,), (200_000, 2_000), (3, 10**8), (0,), (2, 3, 4)])
    dtype = rng.choice(["<f8", "<f8", "<f4", "|O", ">f8", "<i8", "<c16", "|V8"])
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": rng.random() < 0.2, "shape": shape})
    old = io.BytesIO(body)
    np.lib.format.read_magic(old)
    np.lib.format.read_array_header_1_0(old)
    return header.getvalue() + body[old.tell() :]


def _json_value(rng):
    return rng.choice([None, True, -1, 0, 2, 1.5, 2**70, "", "x", [], [1, -1], {}, {"a": 1}, [[None]], "1e999"])


def _mutate_json(data, rng):
    meta = json.loads(data)
    target = meta
    path = []
    while isinstance(target, (dict, list)) and target and rng.random() < 0.6:
        key = rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))
        if not isinstance(target[key], (dict, list)) or rng.random() < 0.3:
            break
        path.append(key)
        target = target[key]
    if isinstance(target, dict) and target:
        target[rng.choice(list(target))] = _json_value(rng)
    elif isinstance(target, list) and target:
        target[rng.randrange(len(target))] = _json_value(rng)
    return json.dumps(meta).encode()


def _pickle_edit(name, body, rng):
    if not name.endswith("data.pkl"):
        return body
    swaps = [
        (b"FloatStorage", rng.choice([b"DoubleStorage", b"HalfStorage", b"LongStorage", b"Evil", b"ByteStorage"])),
        (b"main.0.weight", rng.choice([b"main.0.weigxt", b"main.9.weight", b"other"])),
        (b"_rebuild_tensor_v2", rng.choice([b"_rebuild_tensor_v3", b"system"])),
        (b"collections\nOrderedDict", b"os\nsystem"),
    ]
    old, new = rng.choice(swaps)
    body = body.replace(old, new, rng.choice([1, -1]) if old != b"main.0.weight" else -1)
    for _ in range(rng.randint(0, 2)):  # an int operand (numel, a shape, a stride) changed
        ints = [m.start() for m in re.finditer(rb"K", body)]
        if ints:
            at = rng.choice(ints) + 1
            body = body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
    return body


@pytest.fixture(scope="module")
def originals(tmp_path_factory, request):
    from tests.conftest import TinyDCGAN, _seeded
    from tests.widget.factors import planted

    folder = tmp_path_factory.mktemp("originals")
    g = semwidget.as_generator(_seeded(TinyDCGAN), device="cpu")
    d = semwidget.SeFa(n_directions=3).fit(g).directions_.rename(0, "pose").with_layers([0])
    d = Directions.concat([d, d[:1]]).with_measured_sigmas(g, n=64)
    codes = g.sample(6, seed=0).ws.numpy()
    labels = [("smile", i, 1 if i % 2 else -1) for i in range(6)] + [("smile", -1, 1)]
    cf = planted(g, "shift_x", axis=1)
    k = len(d) + 1
    a = Annotations(
        {"name": g.name, "fingerprint": g.fingerprint},
        [(d, "recipe()"), (cf.direction_, None)],
        [["main.0"]] * k,
        ["n"] * k,
        labels,
        np.concatenate([codes, codes[:1]]),
        reals=[("photo.png", 31.5)],
        real_codes=codes[:1],
        photos=np.arange(g.img_resolution**2 * 3, dtype=np.uint8).reshape(1, g.img_resolution, g.img_resolution, 3),
        factors={1: cf},
        moves=[("seed:2", len(d), 0.5), ("real:0", len(d), -0.25)],
    )
    files = {}
    for kind, save in (("directions", d.save), ("annotations", a.save), ("factor", lambda p: save_factor(cf, p))):
        json_path = save(folder / kind)
        npz = json_path.parent / json.loads(json_path.read_text())["arrays"]
        files[kind] = (json_path.read_bytes(), npz.name, npz.read_bytes())
    torch.manual_seed(0)
    net = DCGAN(z_dim=8, ngf=2).eval()
    buffer = io.BytesIO()
    torch.save({"netG_state_dict": net.state_dict()}, buffer)
    files["checkpoint"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save({"netG_state_dict": net.state_dict()}, buffer, _use_new_zipfile_serialization=False)
    files["legacy"] = buffer.getvalue()
    files["predictor"] = WEIGHTS.read_bytes()
    semwidget.probe(g, _probe_scorer(), n_samples=6, batch_size=6, cache=folder / "probe.npz", progress=False)
    files["probe"] = (folder / "probe.npz").read_bytes()
    return g, files


def _mean(images):
    return images.mean(dim=(1, 2, 3))[:, None].numpy()


def _probe_scorer():
    return FunctionScorer(_mean, names=("mean",))


def _mutate_probe_meta(data, rng):
    """The cache with its JSON metadata mutated (arrays rewritten by np.savez, so sound)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["meta"] = np.array(_mutate_json(str(arrays["meta"]).encode(), rng).decode())
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def _legacy_pickle_edit(data, rng):
    """The zip checkpoints' pickle edits, straight on the legacy file (no archive around it)."""
    return _pickle_edit("data.pkl", data, rng)


def _case(kind, files, rng):
    """(mutation name, {file name: bytes}) for one damaged copy."""
    if kind == "checkpoint":
        data = files["checkpoint"]
        how = rng.choice(["flip", "flip", "truncate", "splice", "pickle", "pickle", "npz-as-pt"])
        if how == "pickle":
            data = _rezip(data, rng, _pickle_edit)
        elif how == "npz-as-pt":
            data = files["directions"][2]
        else:
            data = {"flip": _flip_bits, "truncate": _truncate, "splice": _splice}[how](data, rng)
        return how, {"g.pt": data}
    if kind == "legacy":
        data = files["legacy"]
        edits = {"flip-raw": _flip_bits, "truncate": _truncate, "splice-raw": _splice}
        edits["pickle-raw"] = _legacy_pickle_edit
        how = rng.choice([*edits, "flip-raw", "pickle-raw", "zip-as-legacy"])
        data = files["checkpoint"] if how == "zip-as-legacy" else edits[how](data, rng)
        return how, {"g.pt": data}
    if kind == "predictor":
        data = files["predictor"]
        how = rng.choice(["flip", "flip", "truncate", "splice", "pickle", "pickle", "npz-as-pt"])
        if how == "pickle":
            data = _rezip(data, rng, _pickle_edit)
        elif how == "npz-as-pt":
            data = files["probe"]
        else:
            data = {"flip": _flip_bits, "truncate": _truncate, "splice": _splice}[how](data, rng)
        return how, {"predictor.pt": data}
    if kind == "probe":
        data = files["probe"]
        how = rng.choice(["flip-npz", "truncate", "splice", "huge-header", "json-field", "json-field", "swap"])
        if how == "flip-npz":
            data = _flip_bits(data, rng)
        elif how == "truncate":
            data = _truncate(data, rng)
        elif how == "splice":
            data = _splice(data, rng)
        elif how == "huge-header":
            data = _rezip(data, rng, _huge_header)
        elif how == "json-field":
            data = _mutate_probe_meta(data, rng)
        else:
            data = rng.choice([files["directions"][2], files["checkpoint"]])
        return how, {"probe.npz": data}
    meta, npz_name, npz = files[kind]
    how = rng.choice(["flip-npz", "flip-json", "truncate", "splice", "huge-header", "json-field", "json-field", "swap"])
    if how == "flip-npz":
        npz = _flip_bits(npz, rng)
    elif how == "flip-json":
        meta = _flip_bits(meta, rng)
    elif how == "truncate":
        if rng.random() < 0.5:
            npz = _truncate(npz, rng)
        else:
            meta = _truncate(meta, rng)
    elif how == "splice":
        npz = _splice(npz, rng)
    elif how == "huge-header":
        npz = _rezip(npz, rng, _huge_header)
    elif how == "json-field":
        meta = _mutate_json(meta, rng)
    else:  # mislabelled: the other kind's arrays, a checkpoint, or the other kind's manifest
        other = rng.choice([o for o in ("directions", "annotations", "factor") if o != kind])
        choice = rng.randrange(3)
        if choice == 0:
            npz = files[other][2]
        elif choice == 1:
            npz = files["checkpoint"]
        else:
            meta = files[other][0].replace(files[other][1].encode(), npz_name.encode())
    return how, {f"{kind}.json": meta, npz_name: npz}


def _load(kind, folder, g):
    if kind == "directions":
        return Directions.load(folder / "directions", g)
    if kind == "annotations":
        return Annotations.load(folder / "annotations", g)
    if kind == "factor":
        return load_factor(folder / "factor", g)
    if kind == "predictor":
        return load_predictor(folder / "predictor.pt", sha256=None)
    if kind == "probe":
        return semwidget.probe(g, _probe_scorer(), n_samples=6, cache=folder / "probe.npz", progress=False)
    return semwidget.load(folder / "g.pt", device="cpu")


def _originals_folder(tmp_path, kind, files):
    folder = tmp_path / f"original-{kind}"
    folder.mkdir()
    if kind in ("checkpoint", "legacy"):
        (folder / "g.pt").write_bytes(files[kind])
    elif kind == "predictor":
        (folder / "predictor.pt").write_bytes(files[kind])
    elif kind == "probe":
        (folder / "probe.npz").write_bytes(files[kind])
    else:
        meta, npz_name, npz = files[kind]
        (folder / f"{kind}.json").write_bytes(meta)
        (folder / npz_name).write_bytes(npz)
    return folder


def _same(kind, a, b):
    if kind in ("checkpoint", "legacy"):
        return a.fingerprint == b.fingerprint
    if kind == "predictor":
        return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    if kind == "probe":
        return np.array_equal(a.scores, b.scores) and a.seeds == b.seeds
    if kind == "directions":
        return np.array_equal(a.vectors, b.vectors) and np.array_equal(a.sigmas, b.sigmas)
    if kind == "factor":
        return np.array_equal(a.direction_.vectors, b.direction_.vectors) and np.array_equal(a.g_.step, b.g_.step)
    return (
        np.array_equal(a.codes, b.codes)
        and a.labels == b.labels
        and np.array_equal(a.real_codes, b.real_codes)
        and np.array_equal(a.photos, b.photos)
        and a.moves == b.moves
        and _same("factor", a.factors[1], b.factors[1])
    )


def test_damaged_files_load_or_raise_our_errors_within_bounded_memory(originals, tmp_path):
    g, files = originals
    rng = random.Random(12)
    outcomes, worst_ratio, worst_peak = Counter(), 0.0, 0
    reference = {kind: _load(kind, _originals_folder(tmp_path, kind, files), g) for kind in N_CASES}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.monotonic(), time.process_time()
    tracemalloc.start()
    try:
        for kind, n in N_CASES.items():
            folder = tmp_path / kind
            folder.mkdir()
            for _ in range(n):
                how, written = _case(kind, files, rng)
                for p in folder.iterdir():
                    p.unlink()
                for name, data in written.items():
                    (folder / name).write_bytes(data)
                size = sum(len(b) for b in written.values())
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                try:
                    loaded = _load(kind, folder, g)
                    outcomes[kind, how, "loaded"] += 1
                    # The archives' CRCs let only harmless damage through; a zip checkpoint where a
                    # legacy one was is read by its content, not its name.
                    if how in ("flip", "flip-npz", "splice", "zip-as-legacy"):
                        assert _same(kind, loaded, reference[kind]), (kind, how)
                except (FileFormatError, ModelMismatchError) as exc:
                    assert str(folder) in str(exc) or "checkpoint" in str(exc), exc
                    outcomes[kind, how, type(exc).__name__] += 1
                peak = tracemalloc.get_traced_memory()[1] - base
                assert peak < 4 * size + ALLOWANCE, (kind, how, peak, size)
                worst_ratio, worst_peak = max(worst_ratio, peak / (4 * size + ALLOWANCE)), max(worst_peak, peak)
    finally:
        tracemalloc.stop()
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu_start
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    total = sum(outcomes.values())
    print(
        f"\n{total} cases in {elapsed:.1f} s ({cpu:.1f} s of CPU); traced peak at most {worst_peak // 1024} kB, "
        f"{worst_ratio:.0%} of the bound 4 × file size + 1 MB; "
        f"max RSS grew {rss_growth_mb:.0f} MB"
    )
    for key, count in sorted(outcomes.items()):
        print(f"  {'/'.join(key)}: {count}")
    # 25 ms of CPU a case with tracemalloc on (CPU time: other work on a shared machine slows the clock, not us).
    assert total >= 2000 and cpu < 0.025 * total and rss_growth_mb < 200
    refused = sum(c for k, c in outcomes.items() if k[2] != "loaded")
    assert refused > total // 2
