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


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float((pred & truth).sum())
    return 2 * tp / max(float(pred.sum() + truth.sum()), 1e-9)


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
            "SELECT file_name, top_tags FROM video_summaries WHERE status = 'ok'"
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
    feedback = simulate_feedback(cfg, con, truth)

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


def simulate_feedback(cfg, con, truth) -> dict:
    """Per confusable tag: held-out frame F1 before and after 10/20/50 answers.

    Two folds: questions from the even-numbered videos and F1 on the odd ones, then the
    other way round; every figure is the mean of the two (a half holds as few as five
    positive frames of a tag, so one fold alone moves by 0.1 on a frame or two)."""
    from reelcat.feedback.learning import Examples, adapt, fit_probe
    from reelcat.feedback.questions import question_queue
    from reelcat.tagging.scores import VideoFrames
    from reelcat.tagging.scoring import score_embeddings
    from reelcat.tagging.step import text_bank
    from reelcat.tagging.thresholds import REVIEW_SHARE, Threshold
    from reelcat.tagging.vocabulary import load_vocabulary

    vocab = load_vocabulary(cfg.vocabulary)
    bank = text_bank(cfg, vocab)
    frames = con.execute(
        "SELECT n.file_name, f.video_id, f.t, f.embedding FROM frames f "
        "JOIN video_names n USING (video_id) ORDER BY 2, 3"
    ).fetchall()
    names = np.array([r[0] for r in frames], dtype=object)
    vids = np.array([r[1] for r in frames], dtype=object)
    times = np.array([r[2] for r in frames])
    emb = np.asarray([r[3] for r in frames], dtype=np.float32)
    labels = np.array(
        [
            [tag in truth_at(truth[n]["shots"], t) for tag in bank.tags]
            for n, t in zip(names, times, strict=True)
        ]
    )
    defaults = dict(con.execute("SELECT tag, accept FROM thresholds").fetchall())
    _, base = score_embeddings(emb, bank)
    index = {(v, round(t, 3)): i for i, (v, t) in enumerate(zip(vids, times, strict=True))}

    def row_of(video_id, t):
        return index[(video_id, round(t, 3))]

    confusable = sorted(t.name for t in vocab.tags if any(n in vocab.names for n in t.negatives))
    # split by file name (the generator's order), not by video id: ids are content hashes
    order = sorted(set(names))
    folds = []
    for fold in (0, 1):
        train = np.isin(names, order[fold::2])
        held = ~train
        videos = []
        for v in sorted(set(vids[train])):
            rows = np.flatnonzero(vids == v)
            videos.append(
                VideoFrames(
                    v,
                    float(times[rows].max() + 1),
                    times[rows],
                    np.zeros(len(rows), bool),
                    {t: base[rows, j] for j, t in enumerate(bank.tags)},
                )
            )
        folds.append((train, held, videos))

    def held_f1(scores, j, accept, held):
        return f1(scores[held, j] >= accept, labels[held, j])

    rows, drops, available = {}, {}, {}
    for tag in confusable:
        j = bank.tags.index(tag)
        th = {tag: Threshold(tag, defaults[tag], defaults[tag] * REVIEW_SHARE, "archive")}
        per_fold = []
        for train, held, videos in folds:
            queue = question_queue(videos, th, lambda v, t: emb[row_of(v, t)], n=50, tags=[tag])
            available.setdefault(tag, []).append(len(queue))
            row = [held_f1(base, j, defaults[tag], held)]
            for k in (10, 20, 50):
                asked = np.array([row_of(q.video_id, q.t) for q in queue[:k]], int)
                said_yes = labels[asked, j]
                ex = Examples(
                    [emb[i] for i in asked[said_yes]],
                    [emb[i] for i in asked[~said_yes]],
                    list(vids[asked[said_yes]]),
                    list(vids[asked[~said_yes]]),
                )
                # the product's learning rule, fitted over the training half only
                learned = adapt(bank, {tag: ex}, defaults, emb[train])
                _, after = score_embeddings(emb, learned.bank)
                accept = learned.accept[tag]
                row.append(held_f1(after, j, accept, held))
                if k == 20:
                    for jo, o in enumerate(bank.tags):
                        if o != tag:
                            drops.setdefault((tag, o), []).append(
                                held_f1(base, jo, defaults[o], held)
                                - held_f1(after, jo, defaults[o], held)
                            )
            # the ceiling: the tag's probe fitted to every training frame's true label,
            # and the threshold best for the held-out frames themselves
            everything = bank.with_probe(
                j,
                fit_probe(
                    bank, j, list(emb[train & labels[:, j]]), list(emb[train & ~labels[:, j]])
                ),
            )
            best = score_embeddings(emb[held], everything)[1][:, j]
            row.append(
                max(
                    f1(scores >= c, labels[held, j])
                    for scores in (base[held, j], best)
                    for c in np.unique(scores)
                )
            )
            per_fold.append(row)
        rows[tag] = np.mean(per_fold, axis=0)

    print(
        "\nfeedback: held-out frame F1 per confusable tag after simulated answers, mean "
        "of two folds (questions from half the videos, F1 on the other half)"
    )
    print(
        "(ceiling: the tag's probe fitted to every training frame's true label, and the "
        "threshold best for the held-out frames themselves: the most that moving this tag "
        "and its threshold in this model's image space can reach)"
    )
    print("(the headline keys take the four tags the model gets most wrong, marked *)")
    tried = sorted(rows, key=lambda tag: rows[tag][0])[:4]
    print(f"{'tag':<17} {'before':>6} {'@10':>6} {'@20':>6} {'@50':>6} {'ceiling':>7}")
    for tag, row in sorted(rows.items(), key=lambda kv: kv[1][0]):
        print(
            f"{tag:<16}{'*' if tag in tried else ' '} "
            + " ".join(f"{x:6.3f}" for x in row)
            + f"   ({' and '.join(map(str, available[tag]))} questions available)"
        )
    gains = {tag: rows[tag][2] - rows[tag][0] for tag in tried}
    ceilings = {tag: rows[tag][4] - rows[tag][0] for tag in tried}
    mean_drops = [float(np.mean(d)) for (tag, _), d in drops.items() if tag in tried]
    return {
        "feedback_min_f1_gain_at20": round(min(gains.values()), 4) if gains else None,
        "feedback_max_other_f1_drop": round(max(mean_drops), 4) if mean_drops else None,
        "feedback_min_ceiling_gain": round(min(ceilings.values()), 4) if ceilings else None,
        "feedback_tags": sorted(gains),
    }


if __name__ == "__main__":
    sys.exit(main())
