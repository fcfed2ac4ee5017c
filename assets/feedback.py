"""The feedback loop: people's answers (an external asset: people write it, not a run),
and the tags and thresholds adapted to them."""

import dagster as dg

from assets.ingest import video_frames
from assets.resources import ReelcatSettings
from assets.specs import table_specs
from reelcat.feedback.step import learn_from_verdicts
from reelcat.storage.layout import Layout

verdict_log = dg.AssetSpec(
    "verdict_log",
    group_name="tagging",
    kinds={"parquet"},
    description="People's answers, append-only (reelcat review, the review page, "
    "name-group). The sensor verdict_sensor re-scores when it grows.",
)


_LEARNED_FROM = [video_frames, verdict_log]


@dg.multi_asset(
    specs=table_specs(
        "tagging",
        _LEARNED_FROM,
        {
            "tag_adaptations": "What people's answers changed beyond their own shots, per tag "
            "(feedback/changes.parquet: threshold before/after, frames and videos changed, "
            "the answers behind it, in plain words), and the concepts they taught "
            "(feedback/concepts.parquet)."
        },
    )
    + table_specs(
        "tagging",
        _LEARNED_FROM,
        {
            "tag_thresholds": "Per-tag accept/review thresholds in force: the baseline from the "
            "model's own scores (vocabulary or archive percentiles) beside the level people's "
            "answers moved."
        },
    )
)
def tag_adaptations(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Learn from the verdict log on stored embeddings; the log itself is never rewritten."""
    cfg = settings.load()
    report = learn_from_verdicts(cfg)
    for c in report.changes:
        context.log.info(f"{c['tag']}: {c['decision']}")
    moved = [r for r in report.thresholds if r["source"] == "verdicts"]
    yield dg.MaterializeResult(
        asset_key="tag_adaptations",
        metadata={
            "refitted": report.refitted,
            "tags_answered": len(report.changes),
            "answers": sum(c["answers"] for c in report.changes),
            "frames_changed": sum(c["frames_changed"] for c in report.changes),
            "concepts": len(report.concepts),
            "changes": dg.MetadataValue.md(changes_table(report.changes)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="tag_thresholds",
        metadata={
            "tags": len(report.thresholds),
            "moved_by_answers": len(moved),
            "path": dg.MetadataValue.path(str(Layout(cfg.output_dir).thresholds)),
            "thresholds": dg.MetadataValue.md(
                "| tag | accept | baseline | source |\n|---|---|---|---|\n"
                + "\n".join(
                    f"| {r['tag']} | {r['accept']:.2f} | {r['baseline_accept']:.2f} | "
                    f"{r['source']} |"
                    for r in report.thresholds
                )
            ),
        },
    )


def changes_table(changes: list[dict]) -> str:
    """Per tag, in plain words: what the answers changed beyond their own shots."""
    if not changes:
        return "no answers in force"
    return (
        "| tag | answers | threshold | frames changed | videos changed | why |\n"
        + ("|---|---|---|---|---|---|\n")
        + "\n".join(
            f"| {c['tag']} | {c['answers']} ({c['videos_answered']} videos) | "
            f"{c['accept_before']:.2f} → {c['accept_after']:.2f} | "
            f"{c['frames_changed']} of {c['sampled_frames']} sampled | {c['videos_changed']} | "
            f"{c['decision']} |"
            for c in changes
        )
    )
