"""The probe in this process and on a Dask cluster: shapes-stylegan2 scored by the world's
factor predictor, in process and on a LocalCluster of worker processes, one torch thread
per process (``--threads`` for the in-process run and the workers' shards).

    python benchmarks/distributed.py                       # 2048 samples: minutes on 2 cores
    python benchmarks/distributed.py --n-samples 100000    # the issue's figure: 2 cores, 1 thread each: ~70 min
    python benchmarks/distributed.py --workers 4 --shard-size 1024

Measured on 2 shared cores, one torch thread per process, 10⁵ samples in 98 shards of
1024 (the whole run 69 min): in process 2131 s (46.9 images/s, peak 1019 MiB; load
average 0.6 before, 2.0 after); on 2 workers 1818 s (55.0 images/s; caller with the
scheduler 979 MiB and 139 CPU s, workers 778 and 780 MiB), a shard 35.5 s of compute
(median), 30.5 CPU s, overhead 0.07 s per shard, the recomputed first and last shards
bit-identical. Only 1.17x over one process: the two workers and the scheduler shared the
two cores (with other work for part of the run), and a shard took 30.5 CPU s on a worker
against 21.1 in process, two busy cores slowing each other. An earlier run of 20480
samples at load 3-8 went at 13.2 images/s in process and 16.0 on 2 workers.

Prints, for each way: wall and CPU time and the peak resident memory of every process
(the cluster's startup apart); the compute time of a shard on a worker and the overhead
per shard (the time the workers' slots were not computing, per shard), from Dask's task
stream; a check that shards recomputed here at the workers' thread count give the
cluster's bits; and a worked estimate for 5×10⁵ samples on N workers from the measured
per-shard figures. Each way runs in a fresh process, so its peak memory is its own. The
load average is printed around each way: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# Run from a checkout (as _common.py does); and since this file is called distributed.py,
# its folder must not shadow dask's `distributed`, here and in the workers spawned from here.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import semwidget  # noqa: E402
from semwidget.world import FactorScorer  # noqa: E402

BATCH = 64
ESTIMATE_SAMPLES = 500_000


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def in_process(n: int, shard: int, threads: int) -> dict:
    """The probe here with ``threads`` torch threads; then where one batch's time goes, at one thread."""
    torch.set_num_threads(threads)
    g = semwidget.load("shapes-stylegan2", device="cpu")
    scorer = FactorScorer()
    semwidget.probe(g, scorer, n_samples=BATCH, batch_size=BATCH, progress=False)  # warm-up
    start, cpu = time.perf_counter(), _cpu_s()
    semwidget.probe(g, scorer, n_samples=n, batch_size=BATCH, shard_size=shard, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    torch.set_num_threads(1)
    latents = g.sample(256, seed=0)
    t0 = time.perf_counter()
    images = g.synthesize(latents, batch_size=BATCH)
    t1 = time.perf_counter()
    scorer(images)
    t2 = time.perf_counter()
    return {"wall": wall, "cpu": cpu, "rss": _rss_mib(), "gen_ms": (t1 - t0) / 256e-3, "score_ms": (t2 - t1) / 256e-3}


def on_cluster(n: int, shard: int, workers: int, threads: int) -> dict:
    """Start the cluster, build the models on every worker, then the probe with ``threads`` torch threads per shard."""
    from distributed import Client, LocalCluster, get_task_stream

    from semwidget.distributed import ShardPlan, describe_generator, describe_scorer
    from semwidget.distributed._runner import run_shard
    from semwidget.distributed._specs import prepare
    from semwidget.semantics._probe import ProbeWork

    torch.set_num_threads(threads)  # what the workers run each shard with
    g = semwidget.load("shapes-stylegan2", device="cpu")
    scorer = FactorScorer()
    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    client = Client(cluster)
    started = time.perf_counter() - start
    specs = [describe_generator(g), describe_scorer(scorer)]
    names = list(client.scheduler_info()["workers"])
    client.gather([client.submit(prepare, s, workers=[w], pure=False) for w in names for s in specs])
    warm = time.perf_counter() - start
    warm_cpu = client.run(_cpu_s)
    with get_task_stream(client) as stream:
        t0, cpu = time.perf_counter(), _cpu_s()
        result = semwidget.probe(
            g, scorer, n_samples=n, batch_size=BATCH, shard_size=shard, client=client, progress=False
        )
        wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu
    computes = [s["stop"] - s["start"] for task in stream.data for s in task["startstops"] if s["action"] == "compute"]
    worker_rss = client.run(_rss_mib)
    worker_cpu = client.run(_cpu_s)
    shard_cpu = sum(worker_cpu[w] - warm_cpu[w] for w in worker_cpu) / max(len(computes), 1)
    client.close()
    cluster.close()
    # The first and last shards again, here, at the workers' thread count: the same bits?
    plan = ShardPlan(0, n, shard).shards()
    same = []
    for s in (plan[0], plan[-1]):
        rows = run_shard(ProbeWork(BATCH, None), s, specs[0], specs[1], threads)["scores"]
        same.append(bool(np.array_equal(rows, result.scores[s.rows])))
    return {
        "started": started,
        "warm": warm,
        "wall": wall,
        "cpu": cpu,
        "rss": _rss_mib(),
        "shards": len(computes),
        "compute": computes,
        "worker_rss": sorted(worker_rss.values()),
        "worker_cpu": sorted(worker_cpu.values()),
        "shard_cpu": shard_cpu,
        "same": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2048)
    parser.add_argument("--shard-size", type=int, default=None, help="default: 1024, or n/8 for small runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--phase", choices=["local", "cluster"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.n_samples
    shard = args.shard_size or BATCH * max(1, min(1024, n // 8) // BATCH)
    if args.phase:
        if args.phase == "local":
            out = in_process(n, shard, args.threads)
        else:
            out = on_cluster(n, shard, args.workers, args.threads)
        print("RESULT " + json.dumps(out))
        return

    def run(phase: str) -> dict:
        cmd = [sys.executable, __file__, "--phase", phase, "--n-samples", str(n), "--shard-size", str(shard)]
        cmd += ["--workers", str(args.workers), "--threads", str(args.threads)]
        before = _load()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))[7:])
        print(f"[{phase}: load average {before} before, {_load()} after]")
        return out

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {_load()}; shapes-stylegan2 + FactorScorer")
    print(f"{args.threads} torch thread(s) per process: the in-process run and each of {args.workers} workers")
    print(f"{n} samples, batches of {BATCH}, shards of {shard} ({math.ceil(n / shard)} shards)\n")
    local = run("local")
    print(f"in process ({args.threads} thread(s)): {local['wall']:.1f} s wall, {local['cpu']:.1f} CPU s,")
    print(f"  {n / local['wall']:.1f} images/s, peak memory {local['rss']:.0f} MiB")
    print(f"  one thread, per image: generator {local['gen_ms']:.1f} ms, predictor {local['score_ms']:.1f} ms")
    c = run("cluster")
    per_shard = float(np.median(c["compute"]))
    slots = args.workers
    overhead = (c["wall"] * slots - sum(c["compute"])) / max(c["shards"], 1)
    print(f"\non {args.workers} workers of {args.threads} thread(s): startup {c['started']:.1f} s,", end=" ")
    print(f"models built by {c['warm']:.1f} s")
    print(f"  probe {c['wall']:7.1f} s wall, {n / c['wall']:6.1f} images/s; caller {c['cpu']:.1f} CPU s")
    rss = [round(x) for x in c["worker_rss"]]
    print(f"  peak memory: caller (scheduler inside) {c['rss']:.0f} MiB, workers {rss} MiB")
    print(f"  worker CPU s (startup, models, shards): {[round(x, 1) for x in c['worker_cpu']]}")
    print(f"  a shard of {shard}: {per_shard:.2f} s compute (median of {c['shards']}); overhead {overhead:.2f} s/shard")
    print(f"  a shard's CPU time on a worker: {c['shard_cpu']:.2f} s (its wall time on a core of its own)")
    print(f"  speed-up over in process: {local['wall'] / c['wall']:.2f}x")
    print(f"  first and last shards recomputed here at {args.threads} thread(s): bit-identical = {c['same']}")
    if n != 100_000:
        local_min, cluster_min = local["wall"] * 1e5 / n / 60, (c["warm"] + c["wall"] * 1e5 / n) / 60
        print(f"  linear in the samples, 100000 would take {local_min:.0f} min in process, {cluster_min:.0f} min here")

    shards = math.ceil(ESTIMATE_SAMPLES / shard)
    o = max(overhead, 0.0)
    # On a GPU worker the generator runs on the GPU, while FactorScorer reads its images
    # on the CPU: its one-thread CPU time per shard bounds a GPU worker's shard from below.
    gpu = shard * local["score_ms"] / 1000
    print(f"\nEstimate for {ESTIMATE_SAMPLES} samples, {shards} shards of {shard}:")
    print(f"  T(N) = startup + ceil({shards} / N) x (t + o), startup = {c['warm']:.0f} s (cluster up, models built)")
    print(f"  o = {o:.2f} s per shard (measured here, a shared machine: an upper bound);")
    print(f"  t = {c['shard_cpu']:.2f} s per shard on a one-thread CPU worker with a core of its own (its CPU time);")
    print(f"  t >= {gpu:.2f} s on a GPU worker (the predictor's CPU time; add the generator's GPU time per shard)")
    print("     N   CPU workers   GPU workers (predictor-bound)")
    for workers in (1, 2, 4, 8, 16, 32, 64):
        rounds = math.ceil(shards / workers)
        cpu_t, gpu_t = (c["warm"] + rounds * (t + o) for t in (c["shard_cpu"], gpu))
        print(f"  {workers:4d} {cpu_t / 60:9.1f} min {gpu_t / 60:11.1f} min")


if __name__ == "__main__":
    main()
