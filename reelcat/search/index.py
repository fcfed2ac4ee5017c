"""Frame search: HNSW index shards (usearch) over the stored frame embeddings, with exact
re-ranking of their candidates, and brute force in DuckDB as the oracle and the path for
small archives.

Why usearch: a small wheel with no system dependency, HNSW with integer keys of our
choosing, vectors added incrementally as new batches arrive, stored vectors readable back
(`get`, so re-ranking is exact without reading Parquet), and index files that open
memory-mapped (`view`), so a query does not load them whole.

A frame's key is its frames batch's ordinal and its row in that file; each batch's keys
map to (video, time, frame) through a small side file. Shards hold about SHARD_FRAMES
frames each, so building one never holds more than that in memory, whatever the
archive's size; a query searches every shard and merges. A batch that compaction removed
is marked dead (its keys are skipped); once dead rows outnumber live ones the index is
built again. Deleted videos are dropped at query time against the manifest.
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.config import ModelConfig
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import temp_file, write_table
from reelcat.storage.schemas import INDEX_BATCHES
from reelcat.storage.views import embeddings
from reelcat.tagging.scoring import templated
from reelcat.tagging.text_cache import text_embeddings

BRUTE_FORCE_BELOW = 20_000  # frames: under this, an exact scan is as fast as the index
OVERSAMPLE = 4  # candidates asked of each shard per result returned
SHARD_FRAMES = 65_536  # frames per shard: the most one build holds in memory
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 128, 128
ROWS_PER_ADD = 8192  # embeddings read and added at once


def _new_index(ndim: int):
    from usearch.index import Index

    return Index(
        ndim=ndim,
        metric="cos",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def _shard_path(folder, shard: int):
    return folder / f"shard-{shard:04d}.usearch"


_VIEWS: dict[str, tuple[int, object]] = {}  # open shard views, by path, while unchanged


def _view(path):
    """A shard opened memory-mapped, kept open for the next query of this process (the
    review server, a benchmark) until the file changes."""
    from usearch.index import Index

    mtime = path.stat().st_mtime_ns
    cached = _VIEWS.get(str(path))
    if cached is None or cached[0] != mtime:
        cached = _VIEWS[str(path)] = (mtime, Index.restore(str(path), view=True))
    return cached[1]


def indexed_batches(layout: Layout, model_id: str, sampling_id: str) -> list[dict]:
    path = layout.frame_index_dir(model_id, sampling_id) / "batches.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


def extend_index(layout: Layout, model_id: str, sampling_id: str) -> tuple[int, int]:
    """Add the frames batches the index does not hold yet, a shard at a time. Returns
    (batches added, live frames in the index)."""
    from usearch.index import Index

    frames_dir = layout.frames_dir(model_id, sampling_id)
    folder = layout.frame_index_dir(model_id, sampling_id)
    files = {f.name: f for f in Layout.batch_files(frames_dir)}
    held = indexed_batches(layout, model_id, sampling_id)
    changed = False
    for b in held:
        if b["live"] and b["batch"] not in files:
            b["live"], changed = False, True
    if sum(b["rows"] for b in held if not b["live"]) > sum(b["rows"] for b in held if b["live"]):
        held, changed = [], True  # mostly dead: build it again
        shutil.rmtree(folder, ignore_errors=True)
    known = {b["batch"] for b in held}
    added = 0
    shard, index = None, None
    for name, f in files.items():
        if name in known:
            continue
        rows = pq.ParquetFile(f).metadata.num_rows
        last = max((b["shard"] for b in held), default=-1)
        filled = sum(b["rows"] for b in held if b["shard"] == last)
        target = last if last >= 0 and filled + rows <= SHARD_FRAMES else last + 1
        if target != shard:  # one shard in memory at a time
            _save(index, folder, shard)
            shard = target
            path = _shard_path(folder, shard)
            index = Index.restore(str(path)) if path.exists() else None
        ordinal = max((b["ordinal"] for b in held), default=-1) + 1
        row = 0
        for batch in pq.ParquetFile(f).iter_batches(
            batch_size=ROWS_PER_ADD, columns=["video_id", "t", "frame", "embedding"]
        ):
            vectors = embeddings(batch.column("embedding"))
            index = index or _new_index(vectors.shape[1])
            index.add(
                (ordinal << 32) + np.arange(row, row + len(vectors), dtype=np.int64),
                vectors,
                threads=0,
            )
            row += len(vectors)
        write_table(pq.read_table(f, columns=["video_id", "t", "frame"]), folder / "keys" / name)
        held.append({"ordinal": ordinal, "batch": name, "rows": row, "live": True, "shard": shard})
        added += 1
    _save(index, folder, shard)
    if added or changed:
        write_table(
            pa.Table.from_pylist(held, schema=INDEX_BATCHES),
            folder / "batches.parquet",
            INDEX_BATCHES,
        )
    return added, sum(b["rows"] for b in held if b["live"])


def _save(index, folder, shard) -> None:
    if index is None:
        return
    path = _shard_path(folder, shard)
    tmp = temp_file(folder, f".{path.name}.")
    index.save(str(tmp))
    tmp.replace(path)


def text_query(cfg: ModelConfig, text: str) -> np.ndarray:
    """The unit query vector of a free text: open_clip's template ensemble over it (the
    vector `ClipModel.embed_prompt_sets([(text,)])` gives, and a tag's bank is made of),
    from the machine's text cache (reelcat.tagging.text_cache), so a text searched once
    before is embedded without loading the model."""
    texts = templated(text)
    vectors, _ = text_embeddings(cfg, texts)
    mean = np.mean([vectors[t] for t in texts], axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def search_frames(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    model_id: str,
    sampling_id: str,
    query: np.ndarray,
    k: int = 10,
    *,
    exact: bool | None = None,
) -> list[dict]:
    """The k stored frames of current videos most like `query` (a unit vector): each
    with video_id, t, frame and similarity (`frame_thumbnails` fetches their pictures).
    `exact` forces the brute-force scan (True) or the index (False); by default small
    archives scan."""
    query = np.asarray(query, np.float32)
    held = [b for b in indexed_batches(layout, model_id, sampling_id) if b["live"]]
    if exact is None:
        exact = not held or sum(b["rows"] for b in held) < BRUTE_FORCE_BELOW
    if exact:
        return (
            con.sql(
                "SELECT video_id, t, frame, "
                "list_cosine_similarity(embedding, $q::FLOAT[]) AS similarity FROM frames "
                "ORDER BY similarity DESC, video_id, t LIMIT $k",
                params={"q": query.tolist(), "k": k},
            )
            .to_arrow_table()
            .to_pylist()
        )
    folder = layout.frame_index_dir(model_id, sampling_id)
    live = {b["ordinal"]: b["batch"] for b in held}
    keys, sims = [], []
    for shard in sorted({b["shard"] for b in held}):
        index = _view(_shard_path(folder, shard))
        found = np.asarray(index.search(query, k * OVERSAMPLE).keys, np.int64)
        found = found[np.isin(found >> 32, list(live))]  # compacted batches: skipped
        if len(found):  # exact re-ranking on the stored vectors
            keys.append(found)
            sims.append(np.stack(index.get(found)).astype(np.float32) @ query)
    if not keys:
        return []
    keys, sims = np.concatenate(keys), np.concatenate(sims)
    hits = []
    for i in np.argsort(-sims, kind="stable")[: k * OVERSAMPLE]:
        ordinal, row = int(keys[i] >> 32), int(keys[i] & 0xFFFFFFFF)
        hits.append((live[ordinal], row, float(sims[i])))
    rows = _frames_of(folder, hits)
    current = {
        v
        for (v,) in con.execute(
            "SELECT video_id FROM manifest WHERE catalogued AND list_contains($ids, video_id)",
            {"ids": sorted({r["video_id"] for r in rows})},
        ).fetchall()
    }
    rows = [r for r in rows if r["video_id"] in current]  # deleted videos: dropped
    return sorted(rows, key=lambda r: (-r["similarity"], r["video_id"], r["t"]))[:k]


def _frames_of(folder, hits: list[tuple[str, int, float]]) -> list[dict]:
    """(batch, row, similarity) -> video_id, t, frame from the batches' key files."""
    out = []
    for batch in sorted({b for b, _, _ in hits}):
        mine = [(row, sim) for b, row, sim in hits if b == batch]
        keys = pq.read_table(folder / "keys" / batch).take([row for row, _ in mine])
        for r, (_, sim) in zip(keys.to_pylist(), mine, strict=True):
            out.append({**r, "similarity": sim})
    return out


def frame_thumbnails(con: duckdb.DuckDBPyConnection, hits: list[dict]) -> dict:
    """(video_id, frame) -> JPEG bytes of the hits' stored thumbnails, in one query."""
    if not hits:
        return {}
    wanted = pa.table(
        {
            "video_id": [h["video_id"] for h in hits],
            "frame": pa.array([h["frame"] for h in hits], pa.int32()),
        }
    )
    con.register("wanted_thumbnails", wanted)
    try:
        rows = con.execute(
            "SELECT f.video_id, f.frame, f.thumbnail FROM frames AS f "
            "JOIN wanted_thumbnails AS w USING (video_id, frame)"
        ).fetchall()
    finally:
        con.unregister("wanted_thumbnails")
    return {(v, fr): jpeg for v, fr, jpeg in rows}


def similar_frames(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    model_id: str,
    sampling_id: str,
    video: str,
    t: float,
    k: int = 10,
    *,
    exact: bool | None = None,
) -> list[dict]:
    """The k frames of other videos most like the stored frame nearest `t` in `video` (id,
    path or file name): the index's answer to the catalogue's `similar_frames` macro
    (which scans exactly, in SQL). The index is asked for k plus the video's own frames,
    which are then left out (one video's frames: a bounded number)."""
    found = con.sql(
        "SELECT f.video_id, f.t, f.embedding FROM frames AS f "
        "JOIN video_names AS n USING (video_id) "
        "WHERE $v IN (n.video_id, n.path, n.file_name) ORDER BY abs(f.t - $t), f.t LIMIT 1",
        params={"v": video, "t": t},
    ).to_arrow_table()
    if not found.num_rows:
        raise LookupError(f"no frames of {video!r} in the catalogue")
    me = found["video_id"][0].as_py()
    ((own,),) = con.execute("SELECT count(*) FROM frames WHERE video_id = ?", [me]).fetchall()
    query = embeddings(found.column("embedding"))[0]
    hits = search_frames(con, layout, model_id, sampling_id, query, k + own, exact=exact)
    return [h for h in hits if h["video_id"] != me][:k]
