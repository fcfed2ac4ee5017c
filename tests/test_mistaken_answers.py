"""A newcomer's two mistaken answers on the sample archive (`make sample`'s: 12 videos,
seed 7) change nothing outside their own video and shot, and undoing them restores the
catalogue exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.parquet as pq

from catalog.build import open_catalog
from reelcat.feedback.verdicts import Verdict, append
from reelcat.storage.layout import RESULT_TABLES, Layout

from .conftest import materialize, run_cli


def labels(out) -> set[tuple[str, float, str]]:
    con = open_catalog(out)
    try:
        return set(
            con.execute(
                "SELECT n.file_name, l.t, l.tag FROM labels_final l "
                "JOIN video_names n USING (video_id) WHERE l.label"
            ).fetchall()
        )
    finally:
        con.close()


def results(out) -> dict[str, object]:
    """Every tag score file and archive-wide summary file (bytes, by path), and every
    per-video result table's rows (per-video results are rewritten into new batch files
    for the videos whose answers changed, so those compare by content)."""
    import duckdb

    layout = Layout(out)
    files = [
        *layout.tags_root("any").parent.glob("**/*.parquet"),
        layout.video_tags,
        layout.video_summaries,
        layout.video_risk,
    ]
    found: dict[str, object] = {layout.relative(f): f.read_bytes() for f in sorted(files)}
    for table in RESULT_TABLES:
        (folder,) = layout.results_root.glob(f"*/{table}")
        found[table] = duckdb.sql(
            f"SELECT * FROM read_parquet('{folder}/*.parquet') ORDER BY ALL"
        ).fetchall()
    return found


def summary(out, name: str) -> tuple[list[str], str]:
    con = open_catalog(out)
    try:
        return con.execute(
            "SELECT top_tags, about FROM video_summaries WHERE file_name = ?", [name]
        ).fetchone()
    finally:
        con.close()


def test_two_mistaken_answers_stay_in_their_shots_and_undo_restores_everything(tmp_path, ray_local):
    from reelcat.synthetic.archive import generate_archive

    sample = tmp_path / "sample_archive"
    generate_archive(sample, 12, 7)
    out = tmp_path / "out"
    materialize(sample, out)
    before_labels, before_files = labels(out), results(out)
    thresholds = pq.read_table(Layout(out).thresholds).to_pylist()
    before_v008 = summary(out, "v008_kitchen.mp4")
    assert before_v008[0][0] == "kitchen"

    con = open_catalog(out)
    ids = dict(con.execute("SELECT file_name, video_id FROM video_names").fetchall())
    duration = con.execute(
        "SELECT duration FROM video_names WHERE file_name = 'v006_blood.mp4'"
    ).fetchone()[0]
    con.close()
    since = datetime.now(UTC).isoformat()
    # "that's wrong" on kitchen for all of v006 (kitchen is on screen there), and "yes,
    # text slide" on a kitchen frame of v008
    append(
        Layout(out),
        [Verdict("video", ids["v006_blood.mp4"], 0.0, duration, "kitchen", "no", source="button")],
    )
    kitchen = {t for n, t, tag in before_labels if n == "v008_kitchen.mp4" and tag == "kitchen"}
    slide = {t for n, t, tag in before_labels if n == "v008_kitchen.mp4" and tag == "text slide"}
    t = min(kitchen - slide)
    append(Layout(out), [Verdict("frame", ids["v008_kitchen.mp4"], t, t, "text slide", "yes")])
    materialize(sample, out)

    after = labels(out)
    changed = before_labels ^ after
    assert {(name, tag) for name, _, tag in changed} == {
        ("v006_blood.mp4", "kitchen"),
        ("v008_kitchen.mp4", "text slide"),
    }
    v008 = sorted(t for name, t, tag in changed if name == "v008_kitchen.mp4")
    assert t in v008 and len(v008) < len(kitchen)  # its shot, not the whole video
    assert v008 == [
        t
        for t in sorted({t for n, t, _ in before_labels if n.startswith("v008")})
        if v008[0] <= t <= v008[-1]
    ]  # an unbroken run of frames
    assert not any(tag == "kitchen" for name, _, tag in after if name == "v006_blood.mp4")
    assert pq.read_table(Layout(out).thresholds).to_pylist() == [
        {**row, "answers": row["answers"] + (row["tag"] in ("kitchen", "text slide"))}
        for row in thresholds
    ]
    assert summary(out, "v008_kitchen.mp4")[0][0] == "kitchen"

    # undo both from the terminal (everything since before they were given)
    code, stdout, stderr = run_cli("verdicts", "--out", str(out), "--undo-since", since)
    assert code == 0, stderr
    assert "2" in stdout
    materialize(sample, out)
    assert labels(out) == before_labels
    assert results(out) == before_files  # byte-identical scores, results and summaries
    assert pq.read_table(Layout(out).thresholds).to_pylist() == thresholds
