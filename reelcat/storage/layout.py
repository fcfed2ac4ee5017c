"""Every path under the output folder, in one place, for Python and for SQL.

    manifest.parquet                                  one row per file (errors too)
    frame_errors.parquet                              videos whose decode failed
    frames/<model>/<sampling>/batch-*.parquet         per-frame embedding + thumbnail
    frame_damage/<model>/<sampling>.parquet           videos of those frames that decoded
                                                      with errors (damaged files)
    text/<model>__<vocabulary>.bank.npz               the vocabulary's text embeddings
    index/<model>__<sampling>/                        frame search index (HNSW shards)
    thresholds.parquet                                per-tag thresholds in force
    tags/<model>/<vocabulary>/batch-*.parquet         per-frame tag scores, long form, one
                                                      file per frames batch, same name
    results/<key>/<table>/batch-*.parquet             per-video results, one file per
                                                      frames batch (segments, tag_stats,
                                                      video_frames, moderation_timeline,
                                                      moderation_segments, video_decisions)
    summaries/{video_tags,video_summaries}.parquet    archive-wide (df, idf, rank, about)
    moderation/video_risk.parquet                     archive-wide (the queue's order)
    feedback/verdicts/*.parquet                       people's answers, append-only
    feedback/named_groups/*.parquet                   groups people named
    feedback/changes.parquet                          what the last learning step changed
    feedback/concepts.parquet                         taught concepts' prototypes and levels
    pictures/                                         the heat map, the tag chart
    thumbnails/<video_id>/<frame>.jpg                 frames people look at
    media/<video_id>/<ms>.{jpg,mp4,webm}              a question's full-size frame and clip
    media/<video_id>/proxy.{mp4,webm}                 a low-resolution copy a browser plays
    catalog.duckdb                                    views and tables over the above
    .reelcat.lock                                     held by the run writing the folder

SQL never spells a path: `sql_macros` defines one DuckDB macro per path (relative to
the output folder, which in-memory readers set as `file_search_path`; absolute in the
catalogue file, so that any client opens it from any folder, or URLs in object storage
for an output published there), and the .sql files call those macros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CATALOG = "catalog.duckdb"
GENESIS = "00000000T000000-genesis.parquet"  # an append-only log's first, empty file
RESULT_TABLES = (
    "segments",
    "tag_stats",
    "video_frames",
    "moderation_timeline",
    "moderation_segments",
    "video_decisions",
)


def safe_name(text: str) -> str:
    """A model or vocabulary id as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


@dataclass(frozen=True)
class Layout:
    out: Path
    # the object storage URL the folder is published to (reelcat.storage.mirror): the
    # catalogue's absolute paths name files there
    url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))

    # --- ingest
    @property
    def manifest(self) -> Path:
        return self.out / "manifest.parquet"

    @property
    def frame_errors(self) -> Path:
        return self.out / "frame_errors.parquet"

    def frames_dir(self, model_id: str, sampling_id: str) -> Path:
        return self.out / "frames" / safe_name(model_id) / safe_name(sampling_id)

    def frame_damage(self, model_id: str, sampling_id: str) -> Path:
        """The videos of these frames that ffmpeg decoded with errors (damaged files:
        their frames are used), with the count and the first error. Not inside the frames
        folder, which holds batch files only."""
        return self.out / "frame_damage" / safe_name(model_id) / f"{safe_name(sampling_id)}.parquet"

    @staticmethod
    def damage_file(frames_folder: Path) -> Path:
        """`frame_damage` of the frames in `frames_folder` (a `frames_dir`)."""
        folder = Path(frames_folder)
        return Layout(folder.parents[2]).frame_damage(folder.parent.name, folder.name)

    @staticmethod
    def batch_files(folder: Path) -> list[Path]:
        """The batch files of a frames/… or tags/… folder, oldest first."""
        return sorted(Path(folder).glob("batch-*.parquet"))

    # --- tagging
    def text_bank(self, model_id: str, vocabulary_id: str) -> Path:
        return self.out / "text" / f"{safe_name(model_id)}__{safe_name(vocabulary_id)}.bank.npz"

    def tags_root(self, model_id: str) -> Path:
        return self.out / "tags" / safe_name(model_id)

    def tags_dir(self, model_id: str, vocabulary_id: str) -> Path:
        return self.tags_root(model_id) / safe_name(vocabulary_id)

    def frame_index_dir(self, model_id: str, sampling_id: str) -> Path:
        """The approximate-nearest-neighbour index over the stored frame embeddings: its
        shards (`shard-<n>.usearch`), the batches it holds (`batches.parquet`) and each
        batch's frame keys (`keys/<batch>`)."""
        return self.out / "index" / f"{safe_name(model_id)}__{safe_name(sampling_id)}"

    @property
    def thresholds(self) -> Path:
        return self.out / "thresholds.parquet"

    # --- per-video results, keyed by everything they depend on
    @property
    def results_root(self) -> Path:
        return self.out / "results"

    def results_dir(self, key: str, table: str) -> Path:
        return self.results_root / safe_name(key) / table

    # --- archive-wide summaries
    @property
    def video_tags(self) -> Path:
        return self.out / "summaries" / "video_tags.parquet"

    @property
    def video_summaries(self) -> Path:
        return self.out / "summaries" / "video_summaries.parquet"

    # --- archive-wide moderation
    @property
    def video_risk(self) -> Path:
        return self.out / "moderation" / "video_risk.parquet"

    # --- feedback
    @property
    def verdicts_dir(self) -> Path:
        return self.out / "feedback" / "verdicts"

    @property
    def named_groups_dir(self) -> Path:
        return self.out / "feedback" / "named_groups"

    @property
    def learning_changes(self) -> Path:
        return self.out / "feedback" / "changes.parquet"

    @property
    def concepts(self) -> Path:
        return self.out / "feedback" / "concepts.parquet"

    # --- pictures and thumbnails
    @property
    def pictures(self) -> Path:
        return self.out / "pictures"

    @property
    def heatmap(self) -> Path:
        return self.pictures / "heatmap.png"

    @property
    def tag_frequencies_chart(self) -> Path:
        return self.pictures / "tag_frequencies.png"

    def thumbnail(self, video_id: str, frame: int) -> Path:
        return self.out / "thumbnails" / video_id / f"{frame:06d}.jpg"

    def question_media(self, video_id: str, t: float, ext: str) -> Path:
        """The full-resolution frame (jpg) or the clip (mp4, webm) of a question about
        `video_id` at `t` seconds, cut from the archive file when first asked for."""
        return self.out / "media" / video_id / f"{round(t * 1000):d}.{ext}"

    def proxy(self, video_id: str, ext: str = "mp4") -> Path:
        """The low-resolution copy of `video_id` that the review page plays when a browser
        cannot play the archive file itself (mp4, or webm where ffmpeg lacks libx264)."""
        return self.out / "media" / video_id / f"proxy.{ext}"

    # --- the catalogue
    @property
    def lock(self) -> Path:
        """Held by the run writing this folder (reelcat.storage.lock)."""
        return self.out / ".reelcat.lock"

    @property
    def catalog(self) -> Path:
        return self.out / CATALOG

    def relative(self, path: Path) -> str:
        """A path under the output folder as the catalogue stores it."""
        return Path(path).relative_to(self.out).as_posix()

    def sql_macros(
        self,
        model_id: str,
        sampling_id: str,
        vocabulary_id: str,
        results_key: str = "none",
        *,
        absolute: bool = False,
        temp: bool = False,
    ) -> list[str]:
        """`CREATE MACRO <name>_path()` for each file or glob the SQL reads: relative to the
        output folder (readers set it as `file_search_path`), or `absolute` (what the
        catalogue file stores, so any DuckDB client opens it from any folder); `temp`
        macros shadow the catalogue's own (a moved output folder, read by reelcat)."""
        paths = {
            **{
                table: self.results_dir(results_key, table) / "batch-*.parquet"
                for table in RESULT_TABLES
            },
            "manifest": self.manifest,
            "frame_errors": self.frame_errors,
            "frames": self.frames_dir(model_id, sampling_id) / "batch-*.parquet",
            "frame_damage": self.frame_damage(model_id, sampling_id),
            "frame_tags": self.tags_dir(model_id, vocabulary_id) / "batch-*.parquet",
            "thresholds": self.thresholds,
            "video_tags": self.video_tags,
            "video_summaries": self.video_summaries,
            "video_risk": self.video_risk,
            "verdicts": self.verdicts_dir / "*.parquet",
            "named_groups": self.named_groups_dir / "*.parquet",
            "learning_changes": self.learning_changes,
            "concepts": self.concepts,
        }
        root = self.url or self.out.resolve().as_posix()
        kind = "TEMP MACRO" if temp else "MACRO"
        return [
            f"CREATE OR REPLACE {kind} {name}_path() AS "
            + _literal(f"{root}/{self.relative(p)}" if absolute else self.relative(p))
            for name, p in paths.items()
        ]


def _literal(text: str) -> str:
    """A SQL string literal (read_parquet takes only constants, never a bound parameter)."""
    return "'" + text.replace("'", "''") + "'"
