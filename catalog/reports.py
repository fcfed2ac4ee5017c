"""Pictures of the catalogue, saved as PNG files under out/pictures/.

Per video: a word cloud and a bar chart of its top tags. Archive: a tag frequency chart.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from reelcat.pictures import bar_chart_png, word_cloud_png


def _write(path: Path, png: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(png)
    tmp.replace(path)
    return path


def summary_pictures(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, Path]:
    """Write the archive chart and every video's cloud and bar chart; return key files."""
    pictures = out / "pictures"
    freq = con.execute(
        "SELECT tag, share FROM tag_frequencies WHERE videos > 0 ORDER BY share DESC, tag"
    ).fetchall()
    files = {"tag_frequencies": _write(pictures / "tag_frequencies.png", bar_chart_png(
        [t for t, _ in freq], [s for _, s in freq], title="Share of videos with each tag"))}
    rows = con.execute(
        "SELECT video_id, tag, weight, coverage FROM video_tags WHERE weight > 0 "
        "ORDER BY video_id, rank").fetchall()
    by_video: dict[str, list[tuple[str, float, float]]] = {}
    for vid, tag, weight, coverage in rows:
        by_video.setdefault(vid, []).append((tag, weight, coverage))
    for (vid,) in con.execute("SELECT DISTINCT video_id FROM video_summaries").fetchall():
        tags = by_video.get(vid, [])
        _write(pictures / "videos" / f"{vid}_cloud.png",
               word_cloud_png({t: w for t, w, _ in tags}, seed=0))
        top = tags[:8]
        _write(pictures / "videos" / f"{vid}_tags.png", bar_chart_png(
            [t for t, _, _ in top], [c for _, _, c in top], title="Share of the video's time"))
    return files
