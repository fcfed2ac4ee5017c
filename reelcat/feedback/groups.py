"""Naming groups: the photo-library "who is this?" flow for anything CLIP sees.

Recurring look-alike frames across the archive are clustered by embedding (spherical
k-means on the stored unit vectors). A person names a group; the name becomes a new tag
whose prototype is the group's centroid, its members get "yes" verdicts, and the tag
propagates to every frame by cosine similarity to the prototype: accepted above the
members' typical similarity, uncertain in a band below it (those become questions).
Before a name changes many items, `preview` says how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from reelcat.feedback.verdicts import Verdict, VerdictError, append
from reelcat.storage.layout import Layout
from reelcat.storage.parquet import write_table
from reelcat.storage.schemas import NAMED_GROUPS


@dataclass
class Group:
    id: int
    members: np.ndarray  # row indices into the frames given to find_groups
    centroid: np.ndarray
    cohesion: float  # mean cosine of members to the centroid
    videos: int
    picked: bool = False  # a person picked every member (examples), not a clustering

    @property
    def size(self) -> int:
        return len(self.members)


def spherical_kmeans(emb: np.ndarray, k: int, seed: int = 0, iters: int = 25) -> np.ndarray:
    """Cluster labels for unit vectors (k-means++ seeding, cosine assignment)."""
    rng = np.random.default_rng(seed)
    centers = [emb[rng.integers(len(emb))]]
    for _ in range(1, k):
        d = 1.0 - np.max(emb @ np.asarray(centers).T, axis=1)
        p = np.clip(d, 0, None) ** 2
        centers.append(
            emb[rng.choice(len(emb), p=p / p.sum())] if p.sum() > 0 else emb[rng.integers(len(emb))]
        )
    c = np.asarray(centers)
    labels = np.zeros(len(emb), int)
    for _ in range(iters):
        new = np.argmax(emb @ c.T, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(k):
            m = emb[labels == j]
            if len(m):
                c[j] = m.mean(0) / max(np.linalg.norm(m.mean(0)), 1e-8)
    return labels


def find_groups(
    emb: np.ndarray,
    video_ids: list[str],
    *,
    k: int | None = None,
    min_size: int = 4,
    min_videos: int = 2,
    seed: int = 0,
) -> list[Group]:
    """Recurring look-alikes: clusters with enough members spread over several videos,
    tightest and largest first."""
    n = len(emb)
    if n < min_size:
        return []
    k = k or int(np.clip(round(np.sqrt(n / 2)), 2, 64))
    labels = spherical_kmeans(emb, min(k, n), seed)
    vids = np.asarray(video_ids, dtype=object)
    groups = []
    for j in range(labels.max() + 1):
        members = np.flatnonzero(labels == j)
        if len(members) < min_size:
            continue
        centroid = emb[members].mean(0)
        centroid /= max(np.linalg.norm(centroid), 1e-8)
        n_videos = len(set(vids[members]))
        if n_videos < min_videos:
            continue
        groups.append(
            Group(0, members, centroid, float((emb[members] @ centroid).mean()), n_videos)
        )
    groups.sort(key=lambda g: -(g.size * g.cohesion))
    for i, g in enumerate(groups):
        g.id = i + 1
    return groups


MIN_EXAMPLES = 2
MIN_BAND = 0.1  # cosine: the narrowest band of questions below a group's accept level


def group_of_examples(emb: np.ndarray, video_ids: list[str], rows: list[int]) -> Group:
    """A group made of frames a person picked as examples of a new concept (rows into
    emb): named like any group, so "a name and a few examples" and "name this group"
    are one flow."""
    if len(set(rows)) < MIN_EXAMPLES:
        raise VerdictError(f"give at least {MIN_EXAMPLES} different example frames")
    members = np.asarray(sorted(set(rows)))
    centroid = emb[members].mean(0)
    centroid /= max(np.linalg.norm(centroid), 1e-8)
    videos = len({video_ids[i] for i in members})
    return Group(0, members, centroid, float((emb[members] @ centroid).mean()), videos, True)


def thresholds_for(group: Group, emb: np.ndarray) -> tuple[float, float]:
    """Accept at the similarity most members reach (all of them, less half a band, when
    a person picked them: each is an example); review a band below it, at least MIN_BAND
    wide (a few near-identical examples would leave nothing to ask about)."""
    sims = emb[group.members] @ group.centroid
    accept = float(sims.min() - MIN_BAND / 2 if group.picked else np.percentile(sims, 20))
    return accept, accept - max(2 * float(sims.std() + 0.01), MIN_BAND)


def typical_members(group: Group, emb: np.ndarray, review: float) -> np.ndarray:
    """The members a name speaks for (row indices into emb): those at least `review`
    similar to the centroid. Clustering puts every frame in some group, so a group's
    edge holds frames that only look a little like it; naming the group is not a
    "yes" about those."""
    return group.members[emb[group.members] @ group.centroid >= review]


def preview(group: Group, emb: np.ndarray) -> dict:
    """What naming the group would change, counted over the whole archive (the name
    propagates to every frame, so the counts are not bounded by the group's size):
    `accepted`, frames at or above the accept level; `members`, the typical members that
    get "yes" answers; `elsewhere`, accepted frames outside the group; `uncertain`, the
    frames outside the group in the band below, which become questions (a member there is
    answered "yes", so it is never asked)."""
    accept, review = thresholds_for(group, emb)
    sims = emb @ group.centroid
    outside = np.ones(len(emb), bool)
    outside[group.members] = False
    return {
        "accepted": int((sims >= accept).sum()),
        "members": len(typical_members(group, emb, review)),
        "elsewhere": int(((sims >= accept) & outside).sum()),
        "uncertain": int(((sims >= review) & (sims < accept) & outside).sum()),
        "accept": accept,
        "review": review,
    }


def name_group(
    layout: Layout,
    group: Group,
    name: str,
    emb: np.ndarray,
    video_ids: list[str],
    times: np.ndarray,
    existing_tags: list[str],
    reviewer: str = "anonymous",
    max_without_confirm: int = 50,
    confirmed: bool = False,
) -> dict:
    """Make `name` a tag from the group: its typical members get "yes" verdicts, the
    prototype is stored for propagation. Refuses a name already in use, and a change of more than
    `max_without_confirm` frames unless confirmed."""
    name = name.strip()
    if not name:
        raise VerdictError("a group needs a non-empty name")
    if name in existing_tags:
        raise VerdictError(f"{name!r} is already a tag")
    info = preview(group, emb)
    if info["accepted"] > max_without_confirm and not confirmed:
        raise VerdictError(
            f"naming this group {name!r} labels {info['accepted']} frames "
            f"(and asks about {info['uncertain']} more): confirm to go ahead"
        )
    now = datetime.now(UTC)
    row = {
        "tag": name,
        "centroid": group.centroid.astype(np.float32).tolist(),
        "accept": info["accept"],
        "review": info["review"],
        "members": group.size,
        "named_at": now,
    }
    write_table(
        pa.Table.from_pylist([row], schema=NAMED_GROUPS),
        layout.named_groups_dir / f"{now.strftime('%Y%m%dT%H%M%S%f')}.parquet",
        NAMED_GROUPS,
    )
    append(
        layout,
        [
            Verdict(
                "frame",
                video_ids[i],
                float(times[i]),
                float(times[i]),
                name,
                "yes",
                reviewer=reviewer,
                source="cluster",
            )
            for i in typical_members(group, emb, info["review"])
        ],
    )
    return info


def load_named_groups(con: duckdb.DuckDBPyConnection, taught: bool = False) -> dict[str, dict]:
    """The groups people named, latest naming per tag: {tag: {centroid, accept, review}},
    as named (the `named_groups` view) or, with `taught`, as the answers taught them (the
    `concepts` view: the centroid is then the moved prototype). One per tag (few)."""
    view, vector = ("concepts", "prototype") if taught else ("named_groups", "centroid")
    return {
        tag: {
            "centroid": np.asarray(v, dtype=np.float32),
            "accept": accept,
            "review": review,
        }
        for tag, v, accept, review in con.execute(
            f"SELECT tag, {vector}, accept, review FROM {view} ORDER BY tag"
        ).fetchall()
    }
