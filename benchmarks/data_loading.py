"""Data loading: images/s of ganzoo's ``folder`` data set, streamed and resident, against a plain
``torchvision.datasets.ImageFolder`` + ``DataLoader`` loop on the same folder; and the memory a streamed
training run holds.

    uv run python benchmarks/make_image_folder.py /tmp/folder200k --count 200000 --size 32
    uv run python benchmarks/data_loading.py /tmp/folder200k --workers 2 --batches 200 --rounds 3 \\
        --memory-steps 150

Each loader serves float batches of ``--batch`` images in [-1, 1] in a shuffled order, on the CPU, with
``--workers`` worker processes: the plain loop decodes PNGs with Pillow in its workers (``ToTensor`` +
``Normalize``, the usual GAN tutorial pipeline); ganzoo's streamed set reads decoded rows from its cache
file in its DataLoader workers (the first load decodes every image into that cache with a thread pool:
timed on its own); the resident set serves batches from a uint8 tensor in memory. After ``--warmup``
batches, ``--batches`` are timed; the rounds alternate the order, and the median round is reported.

The memory check trains ``folder-dcgan32`` (``--memory-widths`` wide) for ``--memory-steps`` steps in a
subprocess, streamed, resident, and streamed on the folder's first 10,000 images only (``--memory-modes``),
sampling the memory of the process and its DataLoader workers every 0.1 s (``/proc``): anonymous memory
(what the processes allocated) and file-backed pages (mapped libraries) apart, beside the decoded set's
size. Results go to ``--out`` (.md and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


def streamed_and_resident(folder: Path, workers: int) -> tuple[dict, object, object]:
    """The folder loaded streamed (first load timed: it decodes every image into the cache) and resident."""
    from ganzoo.engine import Engine

    engine = Engine()

    def load(resident: str):
        block = {"name": "folder", "path": str(folder), "labels": "none", "resident": resident, "workers": workers}
        start = time.perf_counter()
        data = engine.load_data({"dataset": block}, "train", folder)
        return data, time.perf_counter() - start

    streamed, build_s = load("false")
    resident, resident_s = load("true")
    n = len(streamed)
    return ({"images": n, "cache_build_s": build_s, "cache_build_images_per_s": n / build_s,
             "resident_load_s": resident_s, "decoded_bytes": int(streamed.x.nbytes),
             "cache_file": streamed.info["record"]["cache"]}, streamed, resident)


def time_batcher(data, batch: int, warmup: int, batches: int) -> float:
    """Images/s of a Batcher over ``data`` after ``warmup`` batches (float batches, as training sees them)."""
    from ganzoo.data import Batcher

    batcher = Batcher(data, batch, seed=0, device=CPU)
    for _ in range(warmup):
        batcher.next()
    start = time.perf_counter()
    for _ in range(batches):
        x, _ = batcher.next()
    took = time.perf_counter() - start
    batcher.close()
    assert x.dtype == torch.float32 and x.shape[0] == batch
    return batches * batch / took


def plain_loader(folder: Path, batch: int, workers: int):
    """The usual loop: ImageFolder with Pillow, ToTensor + Normalize to [-1, 1], a shuffling DataLoader."""
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    start = time.perf_counter()
    ds = datasets.ImageFolder(str(folder), transform=tf)
    index_s = time.perf_counter() - start
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=False)
    return loader, index_s


def time_plain(loader, batch: int, warmup: int, batches: int) -> float:
    """Images/s of the plain loop after ``warmup`` batches."""
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        x, _ = next(it)
    took = time.perf_counter() - start
    del it
    assert x.dtype == torch.float32 and x.shape[0] == batch
    return batches * batch / took


def throughput(folder: Path, args) -> dict:
    """The three loaders, ``args.rounds`` rounds in alternating order; median images/s of each."""
    facts, streamed, resident = streamed_and_resident(folder, args.workers)
    plain, index_s = plain_loader(folder, args.batch, args.workers)
    runs = {"streamed": lambda: time_batcher(streamed, args.batch, args.warmup, args.batches),
            "resident": lambda: time_batcher(resident, args.batch, args.warmup, args.batches),
            "plain": lambda: time_plain(plain, args.batch, args.warmup, args.batches)}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            rates[name].append(runs[name]())
            print(f"round {r + 1}: {name} {rates[name][-1]:,.0f} images/s", flush=True)
    median = {name: statistics.median(v) for name, v in rates.items()}
    return {**facts, "plain_index_s": index_s, "rounds": rates, "images_per_s": median,
            "streamed_vs_plain": median["streamed"] / median["plain"],
            "resident_vs_plain": median["resident"] / median["plain"]}


def tree_memory(pid: int) -> dict[str, int]:
    """Memory of a process and its descendants in kB: the process's own resident set and anonymous part, and
    the proportional set sizes (shared pages split between the processes that map them, so forked DataLoader
    workers are not counted twice) of the whole tree, anonymous and file-backed."""
    def rollup(p: int) -> dict[str, int]:
        out = {}
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:]:
                key, _, value = line.partition(":")
                out[key] = int(value.split()[0])
        except (OSError, ValueError, IndexError):
            pass
        return out

    def children(p: int) -> list[int]:
        try:
            kids = [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            return []
        return kids + [g for k in kids for g in children(k)]

    own = rollup(pid)
    tree = [own] + [rollup(c) for c in children(pid)]
    return {"main_rss_kb": own.get("Rss", 0), "main_anon_kb": own.get("Anonymous", 0),
            "tree_pss_anon_kb": sum(s.get("Pss_Anon", 0) for s in tree),
            "tree_pss_file_kb": sum(s.get("Pss_File", 0) + s.get("Pss_Shmem", 0) for s in tree),
            "processes": len(tree)}


def train_and_watch(folder: Path, mode: str, args, cache_home: str) -> dict:
    """Train folder-dcgan32 in a subprocess and record the peak memory of its process tree. ``mode``: streamed,
    resident, or streamed@N (the first N images only)."""
    kind, _, limit = mode.partition("@")
    run_dir = Path(tempfile.mkdtemp(prefix="ganzoo-dl-")) / "run"
    sets = [f"dataset.path={folder}", f"dataset.resident={'true' if kind == 'resident' else 'false'}",
            f"dataset.limit={limit or 0}", f"dataset.workers={args.workers}",
            "dataset.labels=none", f"network.g_width={args.memory_widths}", f"network.d_width={args.memory_widths}",
            f"train.batch_size={args.batch}", "train.log_every=20", "train.sample_every=100000",
            "train.checkpoint_every=100000", "eval.metrics=[]", "eval.primary=null", "sample.n=16"]
    cmd = [sys.executable, "-m", "ganzoo", "run", "folder-dcgan32", "--steps", str(args.memory_steps), "--out",
           str(run_dir), "--no-progress", "--device", "cpu", *[a for s in sets for a in ("--set", s)]]
    env = {**os.environ, "XDG_CACHE_HOME": cache_home, "GANZOO_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak: dict[str, int] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for key, value in tree_memory(proc.pid).items():
                peak[key] = max(peak.get(key, 0), value)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    start = time.perf_counter()
    watcher.start()
    _, stderr = proc.communicate()
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"training failed: {stderr.strip().splitlines()[-1] if stderr.strip() else proc.returncode}")
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [e["images_per_s"] for e in events if e["event"] == "train"][1:]  # the first window holds the warm-up
    shutil.rmtree(run_dir.parent, ignore_errors=True)
    return {"mode": mode, "images": int(limit) if limit else None, "steps": args.memory_steps,
            "wall_s": time.perf_counter() - start,
            "train_images_per_s": statistics.median(rates) if rates else None,
            **{f"peak_{k}": v for k, v in peak.items()}}


def markdown(report: dict) -> str:
    """The report as Markdown."""
    m, t = report["machine"], report["throughput"]
    r = t["images_per_s"]
    lines = [
        "# Data loading on cpu: ganzoo's folder data set against a plain ImageFolder loop", "",
        f"`{report['command']}` at {report['time']}", "",
        f"Machine: {m['processor']}, {m['cpu_count']} logical CPUs, torch {m['torch']}, Python {m['python']}; "
        f"1-minute load average at the start {report['load_start']:.1f}, at the end {report['load_end']:.1f} "
        "(a machine shared with other jobs: the numbers are measured under contention).", "",
        f"This process ran on {m['torch_threads']} torch thread(s) (the batches' gather and uint8-to-float "
        "conversion in ganzoo's loops; the plain loop's main process only receives batches).", "",
        f"Folder: {report['folder']}: {t['images']:,} PNG images, {report['image_shape']}, decoded "
        f"{t['decoded_bytes'] / 2**20:.0f} MiB as uint8 ({4 * t['decoded_bytes'] / 2**20:.0f} MiB as float32). "
        f"Batches of {report['batch']}, {report['workers']} worker processes each, {report['batches']} batches timed "
        f"after {report['warmup']} of warm-up, median of {report['rounds']} rounds.", "",
        "| loader | images/s | vs plain |", "|---|---|---|",
        f"| plain: torchvision ImageFolder + DataLoader (Pillow, ToTensor, Normalize) | {r['plain']:,.0f} | 1.00 |",
        f"| ganzoo folder, streamed (DataLoader workers read the decoded cache) | {r['streamed']:,.0f} | "
        f"{t['streamed_vs_plain']:.2f} |",
        f"| ganzoo folder, resident (uint8 in memory) | {r['resident']:,.0f} | {t['resident_vs_plain']:.2f} |", "",
        "Per round (images/s): " + "; ".join(f"{k} {', '.join(f'{v:,.0f}' for v in vs)}"
                                             for k, vs in t["rounds"].items()) + ".", "",
        f"One-time costs: ganzoo's first load decoded every image into its cache in {t['cache_build_s']:.1f} s "
        f"({t['cache_build_images_per_s']:,.0f} images/s, {report['workers']} decoding threads); a later load reads "
        f"the cache ({t['resident_load_s']:.1f} s for the resident copy). ImageFolder indexed the folder in "
        f"{t['plain_index_s']:.1f} s. Target: streamed >= plain: "
        f"{'met' if t['streamed_vs_plain'] >= 1 else 'MISSED'}.", "",
    ]
    if report.get("memory"):
        lines += [f"## Memory while training folder-dcgan32 ({report['memory_widths']} wide) for "
                  f"{report['memory'][0]['steps']} steps", "",
                  "Peak memory of the training process and its DataLoader workers, sampled every 0.1 s from "
                  "/proc/PID/smaps_rollup. Anonymous memory is what the processes allocated; file-backed pages "
                  "are mostly mapped libraries, shared and reclaimable. The tree's figures are proportional set "
                  "sizes: a page shared by several processes (the main process and its forked workers, or "
                  "every process on the machine that maps torch's libraries) is split between them. The runs on "
                  "the whole folder train bit for bit the same steps (the same losses); their images/s depend on "
                  "what else the machine runs at the time.", "",
                  "| mode | main process RSS MiB | main process anon MiB | all processes anon (PSS) MiB | "
                  "all processes file-backed (PSS) MiB | processes | train images/s |",
                  "|---|---|---|---|---|---|---|"]
        for row in report["memory"]:
            label = f"streamed, first {row['images']:,} images" if row["images"] else row["mode"]
            rate = f"{row['train_images_per_s']:,.0f}" if row["train_images_per_s"] else "-"
            lines.append(f"| {label} | "
                         f"{row['peak_main_rss_kb'] / 1024:.0f} | {row['peak_main_anon_kb'] / 1024:.0f} | "
                         f"{row['peak_tree_pss_anon_kb'] / 1024:.0f} | {row['peak_tree_pss_file_kb'] / 1024:.0f} | "
                         f"{row['peak_processes']} | {rate} |")
        rows = {row["mode"]: row for row in report["memory"]}
        lines += ["", f"The decoded set is {t['decoded_bytes'] / 2**20:.0f} MiB as uint8 "
                  f"({4 * t['decoded_bytes'] / 2**20:.0f} MiB as float32)."]
        if "streamed" in rows and "resident" in rows:
            extra = (rows["resident"]["peak_main_anon_kb"] - rows["streamed"]["peak_main_anon_kb"]) / 1024
            lines[-1] += (f" The resident run's process holds {extra:.0f} MiB more anonymous memory than the "
                          "streamed run's, whose processes hold no more of the set than the batches in flight.")
        small = [m for m in rows if m.startswith("streamed@")]
        if "streamed" in rows and small:
            few = rows[small[0]]
            a, b = few["peak_tree_pss_anon_kb"] / 1024, rows["streamed"]["peak_tree_pss_anon_kb"] / 1024
            per_image = (b - a) * 2**20 / (t["images"] - few["images"])
            lines[-1] += (f" Streamed, the whole folder peaks at {b:.0f} MiB of anonymous memory over all processes "
                          f"against {a:.0f} MiB for its first {few['images']:,} images: {per_image:.0f} bytes more per "
                          f"image (its path and the listing's entry), against {t['decoded_bytes'] / t['images']:.0f} "
                          "bytes of decoded pixels; the pixels stay in the cache file.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-steps", type=int, default=200, help="0: no memory check")
    parser.add_argument("--memory-widths", type=int, default=16)
    parser.add_argument("--memory-modes", default="streamed,resident,streamed@10000",
                        help="training runs of the memory check: streamed, resident, streamed@N (first N images)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of this process (the loops' own batch work; training sets its own)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="XDG_CACHE_HOME for the decoded cache (default: a fresh temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "data-loading-cpu.md")
    args = parser.parse_args()
    from ganzoo.bench.runner import describe_machine

    torch.set_num_threads(args.threads)
    cache_home = str(args.cache or tempfile.mkdtemp(prefix="ganzoo-dl-cache-"))
    os.environ["XDG_CACHE_HOME"] = cache_home
    report = {"command": "uv run python benchmarks/data_loading.py " + " ".join(sys.argv[1:]),
              "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "folder": str(args.folder),
              "batch": args.batch, "workers": args.workers, "warmup": args.warmup, "batches": args.batches,
              "rounds": args.rounds, "memory_widths": args.memory_widths, "load_start": os.getloadavg()[0],
              "machine": describe_machine(CPU)}
    report["throughput"] = throughput(args.folder, args)
    report["image_shape"] = "x".join(str(s) for s in json.loads(
        Path(report["throughput"]["cache_file"]).with_suffix(".json").read_text())["shape"][1:])
    report["memory"] = [train_and_watch(args.folder, mode, args, cache_home)
                        for mode in args.memory_modes.split(",")] if args.memory_steps else []
    report["load_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
