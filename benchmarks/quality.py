"""How truthful is the catalogue? Runs reelcat on a labelled synthetic archive and scores
it against the ground truth.

    python benchmarks/quality.py                       # generates 60 videos (seed 11)
    python benchmarks/quality.py --truth DIR           # an archive with ground_truth.json

Prints per-frame top-1 accuracy, per-video main-topic recall@3 / precision@3, per-concept
frame-tag precision/recall, segment IoU against the true shots, moderation recall /
precision / IoU / reviewer workload (also under other min_seconds), and the feedback
loop's F1 gain per confusable tag after 10, 20 and 50 simulated answers. The last line
is one JSON object (keys in README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # local Ray on loopback
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from feedback_loop import simulate_feedback  # noqa: E402

from reelcat.config import load_config  # noqa: E402


def generate(work: Path, videos: int, seed: int) -> Path:
    from reelcat.synthetic.archive import GENERATOR_VERSION, generate_archive

    archive = work / f"archive-{videos}-{seed}"
    truth = archive / "ground_truth.json"
    if not truth.exists() or json.loads(truth.read_text()).get("generator") != GENERATOR_VERSION:
        shutil.rmtree(archive, ignore_errors=True)
        shutil.rmtree(work / f"out-{archive.name}", ignore_errors=True)
        generate_archive(archive, videos, seed)
    return archive


def catalogue(archive: Path, out: Path, config: Path) -> float:
    import dagster as dg

    from assets.resources import RayResource, ReelcatSettings
    from orchestration.definitions import ALL_ASSETS

    started = time.perf_counter()
    result = dg.materialize(
        ALL_ASSETS,
        resources={
            "settings": ReelcatSettings(
                config_file=str(config), archive_roots=[str(archive)], output_dir=str(out)
            ),
            "ray_cluster": RayResource(),
        },
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert result.success
    return time.perf_counter() - started


def truth_at(shots: list[dict], t: float) -> set[str]:
    for s in shots:
        if s["start"] <= t < s["end"]:
            return set(s["concepts"])
    return set()


def merged_intervals(shots: list[dict], concept: str) -> list[tuple[float, float]]:
    spans = sorted((s["start"], s["end"]) for s in shots if concept in s["concepts"])
    out: list[list[float]] = []
    for a, b in spans:
        if out and a <= out[-1][1] + 1e-6:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--truth", type=Path, help="archive folder with ground_truth.json")
    p.add_argument("--videos", type=int, default=60)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".work")
    p.add_argument("--config", type=Path, default=REPO / "reelcat.yaml")
    args = p.parse_args(argv)

    archive = args.truth or generate(args.work, args.videos, args.seed)
    gt = json.loads((archive / "ground_truth.json").read_text())
    out = args.work / f"out-{archive.name}"
    seconds = catalogue(archive, out, args.config)
    cfg = load_config(
        args.config, overrides={"archive_roots": [str(archive)], "output_dir": str(out)}
    )
    from catalog.build import open_catalog
    from reelcat.moderation.step import moderate_archive

    con = open_catalog(out)
    truth = {Path(v["file"]).name: v for v in gt["videos"]}
    n_videos = len(truth)
    print(
        f"quality benchmark: {n_videos} videos from {archive} catalogued in {seconds:.0f} s "
        f"(model {con.execute('SELECT model_id FROM catalog_settings').fetchone()[0]})\n"
    )

    # --- per frame -------------------------------------------------------------------
    rows = con.execute("""
        SELECT n.file_name, g.t, g.tag, g.score, g.rank, th.accept
        FROM frame_tags g JOIN video_names n USING (video_id) JOIN thresholds th USING (tag)
    """).fetchall()
    top1 = [0, 0]
    per_concept: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp fp fn
    for name, t, tag, score, rank, accept in rows:
        c = truth_at(truth[name]["shots"], t)
        if not c:
            continue
        if rank == 1:
            top1[0] += tag in c
            top1[1] += 1
        accepted = score >= accept
        if accepted and tag in c:
            per_concept[tag][0] += 1
        elif accepted:
            per_concept[tag][1] += 1
        elif tag in c:
            per_concept[tag][2] += 1
    frames_top1 = top1[0] / max(top1[1], 1)
    print(f"per-frame top-1 accuracy: {frames_top1:.3f} over {top1[1]} frames")
    print(f"\n{'concept':<16} {'precision':>9} {'recall':>7}")
    for tag, (tp, fp, fn) in sorted(per_concept.items()):
        print(f"{tag:<16} {tp / max(tp + fp, 1):9.2f} {tp / max(tp + fn, 1):7.2f}")

    # --- per video summaries ---------------------------------------------------------
    summaries = {
        n: (tags or [])
        for n, tags in con.execute(
            "SELECT file_name, top_tags FROM video_summaries WHERE status IN ('ok', 'damaged')"
        ).fetchall()
    }
    ubiquitous = {
        t for (t,) in con.execute("SELECT DISTINCT tag FROM video_tags WHERE ubiquitous").fetchall()
    }
    recalls, precisions, with_ubiquitous = [], [], 0
    for name, v in truth.items():
        main_topics = set(v["main_topics"])
        top3 = summaries.get(name, [])[:3]
        with_ubiquitous += bool(set(top3) & ubiquitous)
        if main_topics:
            recalls.append(len(main_topics & set(top3)) / len(main_topics))
        if top3:
            precisions.append(len(main_topics & set(top3)) / len(top3))
    recall3, precision3 = float(np.mean(recalls)), float(np.mean(precisions))
    print(
        f"\nper-video main topics: recall@3 {recall3:.3f}, precision@3 {precision3:.3f} "
        f"({len(recalls)} videos); summaries with a ubiquitous tag in top 3: {with_ubiquitous}"
    )

    # --- segments vs shots -------------------------------------------------------------
    segs = defaultdict(list)
    for name, tag, a, b in con.execute(
        'SELECT file_name, tag, start, "end" FROM segments'
    ).fetchall():
        segs[(name, tag)].append((a, b))
    interval = cfg.sampling.interval_seconds
    ious, start_err, end_err = [], [], []
    for name, v in truth.items():
        for concept in {c for s in v["shots"] for c in s["concepts"]}:
            for a, b in merged_intervals(v["shots"], concept):
                if b - a < 2 * interval:
                    continue  # brief cutaways are meant to be smoothed away
                best = max(
                    segs.get((name, concept), []), key=lambda s: iou(s, (a, b)), default=None
                )
                ious.append(iou(best, (a, b)) if best else 0.0)
                if best and iou(best, (a, b)) > 0:
                    start_err.append(abs(best[0] - a))
                    end_err.append(abs(best[1] - b))
    segment_iou = float(np.median(ious)) if ious else 0.0
    print(
        f"segments vs true shots (>= {2 * interval:g} s): median IoU {segment_iou:.3f} over "
        f"{len(ious)} shots; median start error {np.median(start_err):.2f} s, end error "
        f"{np.median(end_err):.2f} s"
    )

    # --- moderation --------------------------------------------------------------------
    decisions = dict(con.execute("SELECT file_name, decision FROM video_risk").fetchall())
    mod_segs = defaultdict(list)
    for name, concept, a, b in con.execute(
        'SELECT file_name, concept, start, "end" FROM moderation_segments'
    ).fetchall():
        mod_segs[(name, concept)].append((a, b))
    long_sensitive = [
        n for n, v in truth.items() if any(s["end"] - s["start"] >= 4 for s in v["sensitive"])
    ]
    any_sensitive = {n for n, v in truth.items() if v["sensitive"]}
    reviewed = [n for n, d in decisions.items() if d == "review"]
    mod_recall = sum(decisions.get(n) == "review" for n in long_sensitive) / max(
        len(long_sensitive), 1
    )
    mod_precision = sum(n in any_sensitive for n in reviewed) / max(len(reviewed), 1)
    mod_ious = [
        max(
            (iou(s, (x["start"], x["end"])) for s in mod_segs.get((n, x["concept"]), [])),
            default=0.0,
        )
        for n, v in truth.items()
        for x in v["sensitive"]
    ]
    mod_iou = float(np.median(mod_ious)) if mod_ious else 0.0
    reviewer_frames = len(reviewed)  # one peak frame confirms a queued video
    raw_frames = moderate_archive(cfg)[0].raw_flagged_frames
    workload = reviewer_frames / max(raw_frames, 1)
    print(
        f"\nmoderation: recall {mod_recall:.2f} of {len(long_sensitive)} videos with a "
        f"sensitive interval >= 4 s; precision {mod_precision:.2f} of {len(reviewed)} queued; "
        f"median IoU {mod_iou:.2f} over {len(mod_ious)} true intervals"
    )
    print(
        f"reviewer workload: {reviewer_frames} peak frames to look at vs {raw_frames} raw "
        f"per-frame flags at the same thresholds (ratio {workload:.3f})"
    )
    # what a perfect queue would cost, one frame per video it holds: one that holds every
    # truly sensitive video, and one that holds only those the recall target covers
    print(
        f"  a perfect queue of every truly sensitive video: {len(any_sensitive)} frames "
        f"(ratio {len(any_sensitive) / max(raw_frames, 1):.3f}); of only those with an "
        f"interval >= 4 s: {len(long_sensitive)} (ratio "
        f"{len(long_sensitive) / max(raw_frames, 1):.3f})"
    )

    moderation_policies(cfg, long_sensitive, any_sensitive, raw_frames)

    # --- feedback loop: a simulated reviewer answers the question queue ----------------
    feedback = simulate_feedback(cfg, con, truth, truth_at)
    feedback["wrong_video_verdict_frames_changed_elsewhere"] = wrong_video_verdict(
        archive, out, args.config
    )

    headline = {
        "frames_top1": round(frames_top1, 4),
        "video_recall_at3": round(recall3, 4),
        "video_precision_at3": round(precision3, 4),
        "segment_iou_median": round(segment_iou, 4),
        "summaries_with_ubiquitous_tag_in_top3": with_ubiquitous,
        "moderation_video_recall": round(mod_recall, 4),
        "moderation_video_precision": round(mod_precision, 4),
        "moderation_segment_iou_median": round(mod_iou, 4),
        "review_workload_ratio": round(workload, 4),
        **feedback,
        "videos": n_videos,
    }
    print(json.dumps(headline))
    return 0


def moderation_policies(cfg, long_sensitive, any_sensitive, raw_frames) -> None:
    """The same archive under other `min_seconds` for every sensitive tag: what a shorter
    or longer minimum costs in workload, and what it clears (reelcat's own moderation)."""
    from reelcat.moderation.step import moderate_archive
    from reelcat.storage.views import video_file_names
    from reelcat.tagging.scores import open_archive
    from reelcat.tagging.vocabulary import load_vocabulary

    sensitive = {t.name: t.min_seconds for t in load_vocabulary(cfg.vocabulary).tags if t.sensitive}
    con = open_archive(cfg)
    name_of = video_file_names(con)
    con.close()
    print(f"  the same archive under other min_seconds (the vocabulary's: {sensitive}):")
    print("  min_seconds  queued  recall(>=4 s)  sensitive videos queued  precision  workload")
    for m in (0, 2, 3, 4, 5, 6):
        risk = moderate_archive(cfg, min_seconds=dict.fromkeys(sensitive, float(m)))[0].risk
        queued = {name_of[r["video_id"]] for r in risk if r["decision"] == "review"}
        recall = len(queued & set(long_sensitive)) / max(len(long_sensitive), 1)
        print(
            f"  {m:11d}  {len(queued):6d}  {recall:13.2f}"
            f"  {len(queued & any_sensitive):10d} of {len(any_sensitive):<10d}"
            f"  {len(queued & any_sensitive) / max(len(queued), 1):9.2f}"
            f"  {len(queued) / max(raw_frames, 1):8.3f}"
        )


def wrong_video_verdict(archive: Path, out: Path, config: Path) -> int:
    """Frames whose label changed in other videos after one mistaken whole-video "that's
    wrong": on a copy of the catalogue, the tag that covers the most frames of one video
    (it is on screen there) is marked wrong for that whole video, and the product runs
    again (learning, re-scoring, summaries); the catalogue's final labels are compared
    before and after, outside that video."""
    from catalog.build import open_catalog
    from reelcat.feedback.verdicts import Verdict, append
    from reelcat.storage.layout import Layout

    copy = out.parent / f"{out.name}-wrong-verdict"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(out, copy)
    query = "SELECT video_id, t, tag FROM labels_final WHERE label"
    con = open_catalog(copy)
    before = set(con.execute(query).fetchall())
    video_id, tag, duration = con.execute(
        "SELECT l.video_id, l.tag, any_value(n.duration) FROM labels_final l "
        "JOIN video_names n USING (video_id) WHERE l.label "
        "GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1"
    ).fetchall()[0]
    con.close()
    append(Layout(copy), [Verdict("video", video_id, 0.0, duration, tag, "no", source="button")])
    catalogue(archive, copy, config)
    con = open_catalog(copy)
    after = set(con.execute(query).fetchall())
    con.close()
    changed = {row for row in before ^ after if row[0] != video_id}
    print(
        f"\none mistaken whole-video answer ('{tag}' is not in a video where it covers the "
        f"most frames): {len(changed)} frame labels changed in other videos"
    )
    shutil.rmtree(copy, ignore_errors=True)
    return len(changed)


if __name__ == "__main__":
    sys.exit(main())
