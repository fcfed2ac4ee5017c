"""Frame search: an HNSW index (usearch) over the stored frame embeddings, with exact
re-ranking of its candidates, and brute force in DuckDB as the oracle and the path for
small archives.

Why usearch: a small wheel with no system dependency, HNSW with integer keys of our
choosing (a frame's key is its frames batch's ordinal and its row in that file, so a
candidate is fetched from Parquet with no key table), vectors added incrementally as new
batches arrive, and an index file that opens memory-mapped (`view`), so a query does not
load it whole. Deleted or replaced videos stay in the index until it is rebuilt; queries
drop them by joining the candidates with the archive's current videos, and ask for more
candidates than they return.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import INDEX_BATCHES
from reelcat.storage.views import embeddings

BRUTE_FORCE_BELOW = 20_000  # frames: under this, an exact scan is as fast as the index
OVERSAMPLE = 4  # candidates asked of the index per result returned
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 128, 128
ROWS_PER_ADD = 8192  # embeddings read and added at once (memory stays bounded)


def _index(ndim: int):
    from usearch.index import Index

    return Index(
        ndim=ndim,
        metric="cos",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def indexed_batches(layout: Layout, model_id: str, sampling_id: str) -> list[dict]:
    path = layout.frame_index_batches(model_id, sampling_id)
    return pq.read_table(path).to_pylist() if path.exists() else []


def extend_index(layout: Layout, model_id: str, sampling_id: str) -> tuple[int, int]:
    """Add the frames batches the index does not hold yet. A batch compaction removed is
    marked dead (its keys are skipped by `search_frames`); once dead rows outnumber live
    ones the index is built again from the batches there are. Returns (batches added,
    live frames in the index)."""
    from usearch.index import Index

    folder = layout.frames_dir(model_id, sampling_id)
    files = {f.name: f for f in Layout.batch_files(folder)}
    path = layout.frame_index(model_id, sampling_id)
    held = indexed_batches(layout, model_id, sampling_id) if path.exists() else []
    changed = False
    for b in held:
        if b.get("live", True) and b["batch"] not in files:
            b["live"], changed = False, True
    dead = sum(b["rows"] for b in held if not b["live"])
    if dead > sum(b["rows"] for b in held if b["live"]):
        held = []  # mostly dead: build it again
    index = Index.restore(str(path)) if held else None
    added = 0
    for name, f in files.items():
        if any(b["batch"] == name for b in held):
            continue
        ordinal = len(held)
        row = 0
        for batch in pq.ParquetFile(f).iter_batches(batch_size=ROWS_PER_ADD, columns=["embedding"]):
            vectors = embeddings(batch.column(0))
            index = index or _index(vectors.shape[1])
            index.add(
                (ordinal << 32) + np.arange(row, row + len(vectors), dtype=np.int64),
                vectors,
                threads=0,
            )
            row += len(vectors)
        held.append({"ordinal": ordinal, "batch": name, "rows": row, "live": True})
        added += 1
    if added or changed or (not held and path.exists()):
        path.parent.mkdir(parents=True, exist_ok=True)
        if index is not None and added:
            tmp = path.with_suffix(".tmp")
            index.save(str(tmp))
            tmp.replace(path)
        write_table(
            pa.Table.from_pylist(held, schema=INDEX_BATCHES),
            layout.frame_index_batches(model_id, sampling_id),
            INDEX_BATCHES,
        )
    return added, sum(b["rows"] for b in held if b["live"])


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
    with video_id, t, frame, similarity and thumbnail (JPEG bytes). `exact` forces the
    brute-force scan (True) or the index (False); by default small archives scan."""
    query = np.asarray(query, np.float32)
    held = [b for b in indexed_batches(layout, model_id, sampling_id) if b["live"]]
    frames = sum(b["rows"] for b in held)
    if exact is None:
        exact = not held or frames < BRUTE_FORCE_BELOW
    if exact:
        return (
            con.sql(
                "SELECT video_id, t, frame, thumbnail, "
                "list_cosine_similarity(embedding, $q::FLOAT[]) AS similarity FROM frames "
                "ORDER BY similarity DESC, video_id, t LIMIT $k",
                params={"q": query.tolist(), "k": k},
            )
            .to_arrow_table()
            .to_pylist()
        )
    from usearch.index import Index

    index = Index.restore(str(layout.frame_index(model_id, sampling_id)), view=True)
    found = index.search(query, k * OVERSAMPLE)
    folder = layout.frames_dir(model_id, sampling_id)
    by_ordinal = {b["ordinal"]: str(folder / b["batch"]) for b in held}
    keys = np.asarray(found.keys, np.int64)
    keys = keys[np.isin(keys >> 32, list(by_ordinal))]  # a compacted batch's keys: skipped
    if not len(keys):
        return []
    candidates = pa.table(
        {
            "filename": [by_ordinal[int(o)] for o in keys >> 32],
            "row": (keys & 0xFFFFFFFF).astype(np.int64),
        }
    )
    con.register("candidates", candidates)
    try:
        table = con.sql(
            "SELECT f.video_id, f.t, f.frame, f.thumbnail, f.embedding "
            "FROM read_parquet($files, filename = true, file_row_number = true) AS f "
            "JOIN candidates AS c ON f.filename = c.filename AND f.file_row_number = c.row "
            "WHERE f.video_id IN (SELECT video_id FROM manifest WHERE status = 'ok')",
            params={"files": sorted(set(candidates["filename"].to_pylist()))},
        ).to_arrow_table()
    finally:
        con.unregister("candidates")
    if not table.num_rows:
        return []
    sims = embeddings(table.column("embedding")) @ query  # exact re-ranking
    rows = (
        table.drop_columns(["embedding"])
        .append_column("similarity", pa.array(sims, pa.float32()))
        .to_pylist()
    )
    return sorted(rows, key=lambda r: (-r["similarity"], r["video_id"], r["t"]))[:k]
