"""How reelcat's costs grow with the archive: stored archives of 1k to 100k videos built
without decoding, then the real `reelcat run` and queries on them.

    python benchmarks/scale.py                         # 1k, 10k and 100k videos (~25 min)
    python benchmarks/scale.py --sizes 200 --hours 1,2 --search-frames 20000   # smoke

Each archive is real files (byte-distinct copies of a few tiny clips that ffmpeg made:
the manifest stats, fingerprints and probes them for real) and a store seeded as if
ViT-B-32 had embedded them: per-frame 512-d embeddings (clustered, as frames of one
video are), the vocabulary's text bank with random 512-d prompts. `reelcat run` then
does the rest for real (manifest, learning, scoring, per-video results, the index, the
catalogue); nothing is decoded, so the figures are reelcat's own costs beyond decode and
model. Printed: a table, then one JSON object (keys in README's scale section).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from reelcat.config import load_config, model_id  # noqa: E402
from reelcat.ingest.manifest import fingerprint, probe_video  # noqa: E402
from reelcat.storage.layout import Layout  # noqa: E402
from reelcat.storage.parquet import BatchWriter, write_table  # noqa: E402
from reelcat.storage.schemas import FRAMES, MANIFEST  # noqa: E402
from reelcat.tagging.scoring import TextBank  # noqa: E402
from reelcat.tagging.vocabulary import load_vocabulary  # noqa: E402
from reelcat.tools import ffmpeg_path  # noqa: E402

DIM = 512
CLIPS = 24  # distinct real clips; archive files are byte-distinct copies of them
CONCEPTS = 2000  # cluster centres of the generated embeddings
SYNTHETIC = REPO / "reelcat" / "vocabularies" / "synthetic.yaml"
DEFAULT = REPO / "reelcat" / "vocabularies" / "default.yaml"


# --------------------------------------------------------------------------- building


def make_clips(work: Path) -> list[tuple[Path, dict]]:
    """A few real tiny H.264 clips and their probe rows."""
    folder = work / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(CLIPS):
        path = folder / f"clip{i:03d}.mp4"
        if not path.exists():
            subprocess.run(
                [
                    ffmpeg_path(),
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    f"testsrc2=size=160x90:rate=10:duration={4 + i % 5}",
                    "-vf",
                    f"hue=h={i * 15}",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                    "-movflags",
                    "+faststart",
                    str(path),
                ],
                check=True,
            )
        clips.append((path, probe_video(path).to_row()))
    return clips


def add_videos(
    archive: Path,
    clips,
    start: int,
    count: int,
    seconds: float,
) -> list[dict]:
    """`count` new files (clip copies with a unique tail), and their manifest rows as
    reelcat would write them, each claiming to last `seconds` (its frames are seeded
    accordingly; the file itself is never decoded)."""
    rows = []
    for i in range(start, start + count):
        src, probe = clips[i % len(clips)]
        path = archive / f"{i // 1000:04d}" / f"v{i:07d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes() + f"reelcat-scale-{i:09d}".encode()
        path.write_bytes(data)
        st = path.stat()
        rows.append(
            {
                **probe,
                "video_id": fingerprint(path),
                "path": str(path),
                "size_bytes": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "inode": st.st_ino,
                "duration": seconds,
            }
        )
    return rows


def seed_frames(
    layout: Layout,
    mid: str,
    sid: str,
    videos: list[dict],
    interval: float,
    rng: np.random.Generator,
    centres: np.ndarray,
) -> int:
    """Frames batch files as if the model had embedded these videos."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (160, 90), (90, 120, 150)).save(buf, "JPEG")
    thumb = buf.getvalue()
    writer = BatchWriter(layout.frames_dir(mid, sid), FRAMES, max_rows=32768)
    total = 0
    for v in videos:
        n = max(1, int(v["duration"] // interval))
        topic = centres[rng.integers(len(centres), size=2)]
        mix = (np.arange(n) * 2 >= n)[:, None]
        emb = np.where(mix, topic[1], topic[0]) + 0.35 * rng.standard_normal((n, DIM))
        emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
        writer.write(
            pa.table(
                {
                    "video_id": [v["video_id"]] * n,
                    "t": np.arange(n) * interval,
                    "frame": np.arange(n, dtype=np.int32),
                    "embedding": pa.FixedSizeListArray.from_arrays(
                        pa.array(emb.reshape(-1)), DIM
                    ).cast(pa.list_(pa.float32())),
                    "brightness": np.full(n, 0.5, np.float32),
                    "contrast": np.full(n, 0.2, np.float32),
                    "thumbnail": [thumb] * n,
                    "model_id": [mid] * n,
                    "sampling_id": [sid] * n,
                }
            )
        )
        total += n
    writer.close()
    return total


def seed_text_bank(layout: Layout, mid: str, vocabulary: Path, rng) -> None:
    """The vocabulary's text bank with random 512-d prompts (no model is loaded)."""
    vocab = load_vocabulary(vocabulary)

    def unit(n):
        x = rng.standard_normal((n, DIM)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    n = len(vocab.names)
    path = layout.text_bank(mid, vocab.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    TextBank(vocab.names, unit(n), unit(4), np.ones((4, n), bool), 100.0).to_npz(path)


def build(
    work: Path,
    name: str,
    clips,
    n_videos: int,
    *,
    vocabulary: Path,
    seconds: float,
    seed: int = 0,
) -> dict:
    """An archive folder, a config for it, and a seeded store."""
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    archive, out = root / "archive", root / "out"
    config = root / "reelcat.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps(
            {
                "archive_roots": [str(archive)],
                "output_dir": str(out),
                "vocabulary": str(vocabulary),
                "sampling": {"mode": "interval", "interval_seconds": 2.0},
                "model": {"name": "ViT-B-32", "random_weights": True},
                "ray": {"decode_tasks": 1, "embed_actors": 1},
            }
        )
    )
    cfg = load_config(config, environ={})
    layout, mid, sid = Layout(out), model_id(cfg.model), cfg.sampling.id
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CONCEPTS, DIM)).astype(np.float32)
    rows = add_videos(archive, clips, 0, n_videos, seconds)
    write_table(pa.Table.from_pylist(rows, schema=MANIFEST), layout.manifest, MANIFEST)
    frames = seed_frames(layout, mid, sid, rows, 2.0, rng, centres)
    seed_text_bank(layout, mid, vocabulary, rng)
    return {
        "config": config,
        "archive": archive,
        "out": out,
        "cfg": cfg,
        "videos": n_videos,
        "frames": frames,
        "clips": clips,
        "rng": rng,
        "centres": centres,
        "seconds": seconds,
    }


# --------------------------------------------------------------------------- measuring


def run(config: Path) -> dict:
    """`reelcat run` in a subprocess: wall seconds and its process tree's peak memory
    (summed PSS of the run and every process it starts: the driver and any Ray worker)."""
    from benchmarks.throughput import _processes, _pss_kb

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"),
    )
    peak = [0]

    def sample():
        while proc.poll() is None:
            kids, _ = _processes()
            todo, total = [proc.pid], 0
            while todo:
                pid = todo.pop()
                total += _pss_kb(pid) * 1024
                todo.extend(kids.get(pid, ()))
            peak[0] = max(peak[0], total)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    sampler.join()
    if proc.returncode:
        raise RuntimeError(f"reelcat run failed:\n{output[-4000:]}")
    return {"seconds": time.perf_counter() - started, "peak_gb": peak[0] / 1e9}


def catalog_files(out: Path) -> int:
    """Files the catalogue's views read: every file its path macros match."""
    import duckdb

    con = duckdb.connect(str(Layout(out).catalog), read_only=True)
    try:
        macros = [
            name
            for (name,) in con.execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() "
                "WHERE function_name LIKE '%\\_path' ESCAPE '\\' AND function_type = 'macro'"
            ).fetchall()
        ]
        patterns = [con.execute(f"SELECT {m}()").fetchall()[0][0] for m in macros]
    finally:
        con.close()
    # (the catalogue's macros give absolute paths; a relative one is under `out`)
    return sum(len(glob.glob(os.path.join(out, p))) for p in patterns)


def timed_queries(out: Path, repeats: int = 5) -> dict:
    from catalog.build import open_catalog

    con = open_catalog(out)
    try:
        name = con.execute("SELECT file_name FROM video_summaries LIMIT 1").fetchall()[0][0]
        out_times = {}
        for key, query, params in (
            ("tag_frequencies", "SELECT * FROM tag_frequencies", []),
            ("video_summary", "SELECT * FROM video_summary(?)", [name]),
            ("review_queue_top_50", "SELECT * FROM review_queue LIMIT 50", []),
        ):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                con.execute(query, params).fetchall()
                times.append(time.perf_counter() - t)
            out_times[key] = statistics.median(times)
    finally:
        con.close()
    return out_times


def search_figures(arc: dict, probes: int = 20) -> dict:
    """Median latency of an indexed search and its recall@10 against the exact scan."""
    from reelcat.search.index import search_frames
    from reelcat.tagging.scores import open_archive

    cfg = arc["cfg"]
    layout, mid, sid = Layout(cfg.output_dir), model_id(cfg.model), cfg.sampling.id
    rng = np.random.default_rng(1)
    con = open_archive(cfg)
    latencies, recalls, exact_s = [], [], []
    try:
        for _ in range(probes):
            q = arc["centres"][rng.integers(CONCEPTS)] + 0.35 * rng.standard_normal(DIM)
            q = (q / np.linalg.norm(q)).astype(np.float32)
            t = time.perf_counter()
            found = search_frames(con, layout, mid, sid, q, 10, exact=False)
            latencies.append(time.perf_counter() - t)
            t = time.perf_counter()
            truth = search_frames(con, layout, mid, sid, q, 10, exact=True)
            exact_s.append(time.perf_counter() - t)
            recalls.append(
                len(
                    {(r["video_id"], r["t"]) for r in found}
                    & {(r["video_id"], r["t"]) for r in truth}
                )
                / 10
            )
    finally:
        con.close()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "recall": float(np.mean(recalls)),
        "exact_p50_ms": 1000 * statistics.median(exact_s),
    }


def increment(arc: dict, share: float = 0.01) -> dict:
    """+share new videos (files and, as if embedded, their frames), then `reelcat run`."""
    cfg = arc["cfg"]
    layout, mid, sid = Layout(cfg.output_dir), model_id(cfg.model), cfg.sampling.id
    new = max(1, int(arc["videos"] * share))
    rows = add_videos(arc["archive"], arc["clips"], arc["videos"], new, arc["seconds"])
    seed_frames(layout, mid, sid, rows, 2.0, arc["rng"], arc["centres"])
    arc["videos"] += new
    return {"new": new, **run(arc["config"])}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="archive sizes (videos)")
    p.add_argument("--hours", default="10,100", help="hours of one-hour videos, default vocabulary")
    p.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="each video's length (10 frames at one per 2 s: 100k videos = 1M frames)",
    )
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work" / "scale")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    hours = [int(h) for h in args.hours.split(",")]
    args.work.mkdir(parents=True, exist_ok=True)
    clips = make_clips(args.work)
    table, by_size = [], {}
    for n in sizes:
        arc = build(args.work, f"videos-{n}", clips, n, vocabulary=SYNTHETIC, seconds=args.seconds)
        first = run(arc["config"])
        noop = run(arc["config"])
        inc = increment(arc)
        per_new = (inc["seconds"] - noop["seconds"]) / inc["new"]
        by_size[n] = {"arc": arc, "first": first, "noop": noop, "inc": inc, "per_new": per_new}
        table.append((f"{n:,} videos ({arc['frames']:,} frames)", first, noop, inc, per_new))
        print(
            f"  {n:>7,} videos: first {first['seconds']:.1f} s, no-op {noop['seconds']:.1f} s, "
            f"+{inc['new']} videos {inc['seconds']:.1f} s",
            flush=True,
        )
    largest = by_size[max(sizes)]
    files = catalog_files(largest["arc"]["out"])
    queries = timed_queries(largest["arc"]["out"])
    search = search_figures(largest["arc"])
    memory = {}
    for h in hours:
        arc = build(args.work, f"hours-{h}", clips, h, vocabulary=DEFAULT, seconds=3600.0)
        memory[h] = run(arc["config"])
        table.append(
            (f"{h} h of video, 112 tags ({arc['frames']:,} frames)", memory[h], None, None, None)
        )
        print(
            f"  {h:>5} hours: first {memory[h]['seconds']:.1f} s, "
            f"peak {memory[h]['peak_gb']:.2f} GB",
            flush=True,
        )

    print(
        f"\n{'archive':<42} {'first s':>8} {'peak GB':>8} {'no-op s':>8} "
        f"{'no-op ms/video':>14} {'+1% s':>7} {'ms/new video':>12}"
    )
    for label, first, noop, inc, per_new in table:
        n = int(label.split()[0].replace(",", "")) if "videos" in label else None
        print(
            f"{label:<42} {first['seconds']:8.1f} {first['peak_gb']:8.2f} "
            + (
                f"{noop['seconds']:8.1f} {1000 * noop['seconds'] / n:14.3f} "
                f"{inc['seconds']:7.1f} {1000 * per_new:12.2f}"
                if noop
                else ""
            )
        )
    small, large = min(sizes), max(sizes)
    print(
        f"\ncatalogue at {large:,} videos: {files} files read by its views; "
        f"tag_frequencies {queries['tag_frequencies']:.3f} s, video_summary "
        f"{queries['video_summary']:.3f} s, review_queue top 50 "
        f"{queries['review_queue_top_50']:.3f} s (medians of 5)"
    )
    print(
        f"search over {largest['arc']['frames']:,} frames: index p50 {search['p50_ms']:.1f} ms, "
        f"recall@10 {search['recall']:.3f} against the exact scan (p50 "
        f"{search['exact_p50_ms']:.0f} ms)"
    )
    ratio_10k = (
        by_size[10000]["first"]["peak_gb"] / by_size[1000]["first"]["peak_gb"]
        if 1000 in by_size and 10000 in by_size
        else None
    )
    h_lo, h_hi = min(hours), max(hours)
    headline = {
        "noop_ms_per_video": round(1000 * largest["noop"]["seconds"] / large, 4),
        "increment_overhead_ms_per_new_video": round(1000 * largest["per_new"], 2),
        "peak_rss_ratio_10k_vs_1k": round(ratio_10k, 3) if ratio_10k else None,
        f"peak_rss_gb_{h_hi}h_112tags": round(memory[h_hi]["peak_gb"], 3),
        f"peak_rss_ratio_{h_hi}h_vs_{h_lo}h": round(
            memory[h_hi]["peak_gb"] / memory[h_lo]["peak_gb"], 3
        ),
        f"catalog_files_at_{large // 1000}k": files,
        f"query_tag_frequencies_s_{large // 1000}k": round(queries["tag_frequencies"], 4),
        f"query_video_summary_s_{large // 1000}k": round(queries["video_summary"], 4),
        "search_frames": largest["arc"]["frames"],
        "search_p50_ms": round(search["p50_ms"], 2),
        "search_recall_at10": round(search["recall"], 4),
        "first_run_ms_per_video_smallest": round(
            1000 * by_size[small]["first"]["seconds"] / small, 3
        ),
    }
    print(json.dumps(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
