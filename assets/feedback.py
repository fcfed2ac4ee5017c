"""The feedback loop: tags and thresholds adapted to people's verdicts."""

import dagster as dg

from assets.ingest import video_frames
from orchestration.resources import ReelcatSettings
from reelcat.learning_files import learn_from_verdicts


@dg.asset(group_name="feedback", deps=[video_frames], kinds={"numpy"})
def tag_adaptations(context: dg.AssetExecutionContext, settings: ReelcatSettings):
    """Each answered tag's prompt embedding moved toward the frames people said "yes" to,
    the frames they said "no" to added as its negatives, and its threshold re-fitted to the
    answers. Works on stored embeddings; the verdict log itself is never rewritten."""
    cfg = settings.load()
    changes = learn_from_verdicts(cfg)
    for change in changes:
        context.log.info(str(change))
    return dg.MaterializeResult(metadata={
        "tags_adapted": len(changes),
        "answers": sum(c.answers for c in changes),
        "changes": dg.MetadataValue.md("\n".join(f"- {c}" for c in changes)
                                       or "no verdicts yet"),
    })
