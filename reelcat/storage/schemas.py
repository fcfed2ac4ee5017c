"""Every table's pyarrow schema under the output folder, written down once.

Parquet files are always written with one of these (see `reelcat.storage.parquet`), and
the catalogue's empty stand-ins for tables with no files yet are built from them.
"""

from __future__ import annotations

import pyarrow as pa

MANIFEST = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("size_bytes", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("duration", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("fps", pa.float64()),
        ("codec", pa.string()),
        ("rotation", pa.int32()),
        ("has_video", pa.bool_()),
        ("start_time", pa.float64()),
        # what the file looked like when it was probed: an unchanged (path, size, mtime,
        # inode) is not fingerprinted or probed again
        ("mtime_ns", pa.int64()),
        ("inode", pa.int64()),
        # status 'missing': since when the file (or its whole root) has not been found
        ("missing_since", pa.timestamp("us", tz="UTC")),
    ]
)

FRAMES = pa.schema(
    [
        ("video_id", pa.string()),
        ("t", pa.float64()),  # presentation time in seconds
        ("frame", pa.int32()),  # index among this video's sampled frames
        ("embedding", pa.list_(pa.float32())),  # unit length
        ("brightness", pa.float32()),  # mean pixel value 0..1, for blank frames
        ("contrast", pa.float32()),  # pixel std 0..1
        ("thumbnail", pa.binary()),  # small JPEG for people
        ("model_id", pa.string()),
        ("sampling_id", pa.string()),
    ]
)

# Per-video decode problems, a row per video. kind 'failed': nothing decoded, a row of
# Layout.frame_errors, not a crash (null in rows written without a kind). 'damaged':
# ffmpeg logged decode errors but frames decoded and are used, a row of
# Layout.frame_damage.
FRAME_ERRORS = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("error", pa.string()),  # what went wrong, in words
        ("kind", pa.string()),  # 'failed' | 'damaged'
        ("decode_errors", pa.int64()),  # errors ffmpeg logged decoding the video
        ("first_decode_error", pa.string()),  # the first of them, as ffmpeg said it
    ]
)

FRAME_TAGS = pa.schema(
    [
        ("video_id", pa.string()),
        ("t", pa.float64()),
        ("frame", pa.int32()),
        ("tag", pa.string()),
        ("cosine", pa.float32()),  # raw cosine similarity to the tag's prompt ensemble
        ("score", pa.float32()),  # calibrated probability: tag vs its negatives/background
        ("rank", pa.int16()),  # 1 = the tag with the highest cosine in this frame
        ("model_id", pa.string()),
        ("vocabulary_id", pa.string()),
    ]
)

# Per-tag thresholds in force, and the baseline the model's own scores give (archive
# percentiles or the vocabulary's), which people's answers are measured against.
THRESHOLDS = pa.schema(
    [
        ("tag", pa.string()),
        ("accept", pa.float64()),
        ("review", pa.float64()),
        ("source", pa.string()),  # vocabulary | archive percentiles | verdicts
        ("baseline_accept", pa.float64()),
        ("baseline_review", pa.float64()),
        ("answers", pa.int32()),  # yes/no answers about the tag in force
    ]
)

SEGMENTS = pa.schema(
    [
        ("video_id", pa.string()),
        ("tag", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("duration", pa.float64()),
        ("frames", pa.int32()),
        ("mean_score", pa.float64()),
        ("peak_score", pa.float64()),
        ("peak_t", pa.float64()),
    ]
)

# Per video and tag, from the video alone (the archive-wide df, idf, weight and rank are
# added set-wise: reelcat/summaries/sql/video_tags.sql).
TAG_STATS = pa.schema(
    [
        ("video_id", pa.string()),
        ("tag", pa.string()),
        ("frames", pa.int32()),
        ("seconds", pa.float64()),
        ("coverage", pa.float64()),
        ("mean_score", pa.float64()),
        ("peak_score", pa.float64()),
    ]
)

# Per video: sampled and blank frames.
VIDEO_FRAMES = pa.schema(
    [("video_id", pa.string()), ("frames", pa.int32()), ("blank_frames", pa.int32())]
)

VIDEO_TAGS = pa.schema(
    [
        ("video_id", pa.string()),
        ("tag", pa.string()),
        ("rank", pa.int32()),
        ("frames", pa.int32()),
        ("seconds", pa.float64()),
        ("coverage", pa.float64()),
        ("mean_score", pa.float64()),
        ("peak_score", pa.float64()),
        ("tf", pa.float64()),
        ("df", pa.int32()),
        ("idf", pa.float64()),
        ("tfidf", pa.float64()),
        ("weight", pa.float64()),
        ("ubiquitous", pa.bool_()),
    ]
)

SUMMARIES = pa.schema(
    [
        ("video_id", pa.string()),
        ("frames", pa.int32()),
        ("blank_frames", pa.int32()),
        ("top_tags", pa.list_(pa.string())),
        ("top_coverage", pa.list_(pa.float64())),
        ("top_scores", pa.list_(pa.float64())),
        ("about", pa.string()),
    ]
)

MODERATION_TIMELINE = pa.schema(
    [
        ("video_id", pa.string()),
        ("concept", pa.string()),
        ("bin", pa.int32()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("severity", pa.float64()),
    ]
)

MODERATION_SEGMENTS = pa.schema(
    [
        ("video_id", pa.string()),
        ("concept", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("duration", pa.float64()),
        ("peak", pa.float64()),
        ("peak_t", pa.float64()),
        ("mean", pa.float64()),
        ("frames", pa.int32()),
        ("level", pa.string()),
        ("thumbnail", pa.string()),
    ]
)

# Per video, from the video alone; `raw_flagged_frames` counts frames a per-frame rule
# would flag. The review queue's `position` is added set-wise.
VIDEO_DECISIONS = pa.schema(
    [
        ("video_id", pa.string()),
        ("decision", pa.string()),
        ("risk", pa.float64()),
        ("peak_severity", pa.float64()),
        ("seconds_flagged", pa.float64()),
        ("segments", pa.int32()),
        ("evidence", pa.string()),
        ("raw_flagged_frames", pa.int32()),
    ]
)

# `position` is the review queue's order (1 = look first), decided once by
# reelcat/moderation/sql/video_risk.sql; every reader sorts by it.
VIDEO_RISK = VIDEO_DECISIONS.insert(1, pa.field("position", pa.int32()))

# The frame index's batches: a frame's key is (ordinal << 32) | its row in the batch file.
INDEX_BATCHES = pa.schema(
    [
        ("ordinal", pa.int32()),
        ("batch", pa.string()),
        ("rows", pa.int64()),
        ("live", pa.bool_()),  # false: the batch was compacted away, its keys are skipped
        ("shard", pa.int32()),  # the index shard holding its vectors
    ]
)

VERDICTS = pa.schema(
    [
        ("verdict_id", pa.string()),
        ("scope", pa.string()),  # frame | video
        ("video_id", pa.string()),
        ("start", pa.float64()),  # seconds; a frame has start == end
        ("end", pa.float64()),
        ("tag", pa.string()),
        ("verdict", pa.string()),  # yes | no | unsure | skip | undo
        ("reviewer", pa.string()),
        ("answered_at", pa.timestamp("us", tz="UTC")),
        ("model_id", pa.string()),
        ("vocabulary_id", pa.string()),
        ("undoes", pa.string()),  # for 'undo': the verdict_id taken back
        ("source", pa.string()),  # question | audit | cluster | button | cli
        ("score", pa.float64()),  # the model's score when it was asked (null: not known)
    ]
)

NAMED_GROUPS = pa.schema(
    [
        ("tag", pa.string()),
        ("centroid", pa.list_(pa.float32())),
        ("accept", pa.float64()),
        ("review", pa.float64()),
        ("members", pa.int32()),
        ("named_at", pa.timestamp("us", tz="UTC")),
    ]
)

# What the last learning step changed, one row per tag with answers in force
# (feedback/changes.parquet): shown in the Dagster metadata and on the review page.
LEARNING_CHANGES = pa.schema(
    [
        ("tag", pa.string()),
        ("answers", pa.int32()),  # yes/no answers in force about the tag
        ("videos_answered", pa.int32()),  # videos those answers are about
        ("accept_before", pa.float64()),  # the baseline (the model's own scores)
        ("accept_after", pa.float64()),
        ("frames_changed", pa.int64()),  # sampled frames whose accepted/rejected flipped
        ("videos_changed", pa.int64()),  # videos holding such frames
        ("sampled_frames", pa.int64()),
        ("decision", pa.string()),  # plain words: what changed and why, or why nothing did
        ("verdict_ids", pa.list_(pa.string())),  # the answers it was fitted from
    ]
)

# Concepts people taught (named groups), as the learning step left them
# (feedback/concepts.parquet): the prototype moved by the answers, and its levels.
CONCEPTS = pa.schema(
    [
        ("tag", pa.string()),
        ("prototype", pa.list_(pa.float32())),  # unit vector in the image space
        ("accept", pa.float64()),  # cosine of a frame to the prototype
        ("review", pa.float64()),
        ("answers", pa.int32()),
    ]
)
