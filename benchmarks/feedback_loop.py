"""The quality benchmark's feedback figures: a simulated reviewer answers the product's
own question queue from the ground truth, and the product's own learning rule
(reelcat.feedback.learning) learns from the answers. Called by benchmarks/quality.py.

Two folds: questions from the even-numbered videos and F1 on the odd ones, then the other
way round; every figure is the mean of the two (a half holds as few as five positive
frames of a tag, so one fold alone moves by 0.1 on a frame or two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANSWERS = (10, 20, 50)
NOISE = 0.1  # share of simulated answers flipped in the noisy run
NOISE_DRAWS = 3  # noisy runs per tag and fold (their mean is reported)
NEW_CONCEPTS = 3  # the most common concepts, each removed and taught in turn


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float((pred & truth).sum())
    return 2 * tp / max(float(pred.sum() + truth.sum()), 1e-9)


@dataclass
class Archive:
    """The catalogued benchmark archive as arrays: one row per stored frame."""

    names: np.ndarray  # file name
    vids: np.ndarray  # video id
    times: np.ndarray
    emb: np.ndarray  # (frames, dim)
    labels: np.ndarray  # (frames, tags) bool: the tag is on screen
    tags: list[str]
    defaults: dict[str, float]  # the thresholds in force (the model's own baselines)

    def row_of(self, video_id: str, t: float) -> int:
        if not hasattr(self, "_index"):
            self._index = {
                (v, round(x, 3)): i
                for i, (v, x) in enumerate(zip(self.vids, self.times, strict=True))
            }
        return self._index[(video_id, round(t, 3))]

    def folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(train, held) masks; split by file name (the generator's order), not by video
        id: ids are content hashes."""
        order = sorted(set(self.names))
        out = []
        for fold in (0, 1):
            train = np.isin(self.names, order[fold::2])
            out.append((train, ~train))
        return out

    def video_frames(self, train: np.ndarray, scores: dict[str, np.ndarray]):
        """The training half as the question queue sees it (reelcat.tagging.scores)."""
        from reelcat.tagging.scores import VideoFrames

        videos = []
        for v in sorted(set(self.vids[train])):
            rows = np.flatnonzero(self.vids == v)
            videos.append(
                VideoFrames(
                    v,
                    float(self.times[rows].max() + 1),
                    self.times[rows],
                    np.zeros(len(rows), bool),
                    {t: s[rows] for t, s in scores.items()},
                )
            )
        return videos


def load_archive(con, truth, tags: list[str], truth_at) -> Archive:
    table = con.execute(
        "SELECT n.file_name, f.video_id, f.t, f.embedding FROM frames f "
        "JOIN video_names n USING (video_id) ORDER BY 2, 3"
    ).fetchall()
    names = np.array([r[0] for r in table], dtype=object)
    times = np.array([r[2] for r in table])
    labels = np.array(
        [
            [tag in truth_at(truth[n]["shots"], t) for tag in tags]
            for n, t in zip(names, times, strict=True)
        ]
    )
    return Archive(
        names,
        np.array([r[1] for r in table], dtype=object),
        times,
        np.asarray([r[3] for r in table], dtype=np.float32),
        labels,
        tags,
        dict(con.execute("SELECT tag, accept FROM thresholds").fetchall()),
    )


def ask(archive: Archive, bank, tag: str, train: np.ndarray, n: int) -> np.ndarray:
    """Rows of the frames the product's question queue asks about `tag`, in its order."""
    from reelcat.feedback.questions import question_queue
    from reelcat.tagging.scoring import score_embeddings
    from reelcat.tagging.thresholds import REVIEW_SHARE, Threshold

    j = bank.tags.index(tag)
    scores = score_embeddings(archive.emb, bank)[1][:, j]
    accept = archive.defaults[tag]
    queue = question_queue(
        archive.video_frames(train, {tag: scores}),
        {tag: Threshold(tag, accept, accept * REVIEW_SHARE, "archive")},
        lambda v, t: archive.emb[archive.row_of(v, t)],
        n=n,
        tags=[tag],
    )
    return np.array([archive.row_of(q.video_id, q.t) for q in queue], int)


def answers(archive: Archive, rows: np.ndarray, j: int, flip: np.ndarray | None = None):
    from reelcat.feedback.learning import Examples

    said = archive.labels[rows, j].copy()
    if flip is not None:
        said ^= flip
    return Examples(archive.emb[rows], said, archive.vids[rows])


def tag_curves(archive: Archive, bank, tag: str, noise: float = 0.0, seed: int = 0) -> dict:
    """Held-out F1 of `tag` before and after 10/20/50 answers, its ceiling, and the other
    tags' F1 after 20 (mean of the two folds)."""
    from reelcat.feedback.learning import adapt
    from reelcat.tagging.scoring import score_embeddings

    j = bank.tags.index(tag)
    _, base = score_embeddings(archive.emb, bank)
    per_fold, others, available = [], [], []
    for fold, (train, held) in enumerate(archive.folds()):
        asked = ask(archive, bank, tag, train, max(ANSWERS))
        available.append(len(asked))
        rng = np.random.default_rng([seed, fold, j])
        flips = rng.random(len(asked)) < noise if noise else None
        row = [f1(base[held, j] >= archive.defaults[tag], archive.labels[held, j])]
        for k in ANSWERS:
            ex = answers(archive, asked[:k], j, None if flips is None else flips[:k])
            learned = adapt(bank, {tag: ex}, archive.defaults, archive.emb[train])
            row.append(f1(base[held, j] >= learned.accept[tag], archive.labels[held, j]))
            if k == 20:
                others.append(
                    [
                        f1(base[held, jo] >= learned.accept.get(o, archive.defaults[o]), lab)
                        - f1(base[held, jo] >= archive.defaults[o], lab)
                        for jo, o in enumerate(bank.tags)
                        if o != tag
                        for lab in [archive.labels[held, jo]]
                    ]
                )
        # the ceiling: the tag's probe fitted to every training frame's true label, and
        # the threshold best for the held-out frames themselves
        lab = archive.labels[:, j]
        everything = bank.with_probe(
            j, fit_probe(bank, j, archive.emb[train & lab], archive.emb[train & ~lab])
        )
        best = score_embeddings(archive.emb[held], everything)[1][:, j]
        row.append(
            max(
                f1(s >= c, archive.labels[held, j])
                for s in (base[held, j], best)
                for c in np.unique(s)
            )
        )
        # what every label of the training half could teach: the threshold best for the
        # training frames themselves (no answer-driven rule knows more), on the held-out half
        cuts = np.unique(base[train, j])
        cut = cuts[int(np.argmax([f1(base[train, j] >= c, lab[train]) for c in cuts]))]
        row.append(f1(base[held, j] >= cut, lab[held]))
        per_fold.append(row)
    return {
        "row": np.mean(per_fold, axis=0),
        "other_change": float(np.min(np.mean(others, axis=0))),
        "available": available,
    }


def new_concept(archive: Archive, concept: str, n_answers: int = 20) -> dict:
    """`concept` taken out of the vocabulary and taught as a person would: the training
    half's recurring look-alikes are grouped (reelcat.feedback.groups.find_groups), the
    person names the group holding most of the concept's frames (its members become
    "yes" answers), then answers `n_answers` of the product's "is this <concept>?"
    questions; held-out F1 of the taught tag (mean of two folds)."""
    from reelcat.feedback.groups import find_groups, thresholds_for, typical_members
    from reelcat.feedback.learning import Examples, teach_concept
    from reelcat.feedback.questions import question_queue
    from reelcat.tagging.thresholds import Threshold

    j = archive.tags.index(concept)
    lab = archive.labels[:, j]
    scores, group_share, ceilings = [], [], []
    for train, held in archive.folds():
        rows = np.flatnonzero(train)
        groups = find_groups(archive.emb[rows], list(archive.vids[rows]))
        share = [lab[rows[g.members]].mean() for g in groups]
        g = groups[int(np.argmax(share))]
        group_share.append(max(share))
        accept, review = thresholds_for(g, archive.emb[rows])
        members = rows[typical_members(g, archive.emb[rows], review)]
        sims = archive.emb @ g.centroid
        queue = question_queue(
            archive.video_frames(train, {concept: sims}),
            {concept: Threshold(concept, accept, review, "named group")},
            lambda v, t: archive.emb[archive.row_of(v, t)],
            n=n_answers,
            tags=[concept],
            answered={(archive.vids[i], round(archive.times[i], 3), concept) for i in members},
        )
        asked = np.array([archive.row_of(q.video_id, q.t) for q in queue], int)
        rows_all = np.concatenate([members, asked])
        said = np.concatenate([np.ones(len(members), bool), lab[asked]])
        taught = teach_concept(
            g.centroid,
            accept,
            review,
            Examples(archive.emb[rows_all], said, archive.vids[rows_all]),
        )
        scores.append(f1(archive.emb[held] @ taught.prototype >= taught.accept, lab[held]))
        # the ceiling: every training frame of the concept as its prototype, and the cut
        # best for the held-out frames themselves
        best = archive.emb[train & lab].mean(0)
        sims = archive.emb[held] @ (best / np.linalg.norm(best))
        ceilings.append(max(f1(sims >= c, lab[held]) for c in np.unique(sims)))
    return {
        "f1": float(np.mean(scores)),
        "group_share": float(np.mean(group_share)),
        "ceiling": float(np.mean(ceilings)),
    }


PROBE_L2 = 10.0  # pull of the ceiling's probe toward the text embedding
PROBE_STEPS = 25


def fit_probe(bank, j: int, yes: np.ndarray, no: np.ndarray) -> np.ndarray:
    """How far tag j's embedding moves to fit labelled frames (the ceiling's probe): the
    probe d maximising sum log P(label) - PROBE_L2 * |d|^2, with P(yes | e) = sigmoid(logit
    of the tag's calibrated score + logit_scale * e @ d). Newton steps."""
    from reelcat.tagging.scoring import score_embeddings

    x = np.concatenate([np.asarray(yes, np.float64), np.asarray(no, np.float64)])
    y = np.array([1.0] * len(yes) + [0.0] * len(no))
    s = score_embeddings(x.astype(np.float32), bank)[1][:, j].astype(np.float64)
    s = np.clip(s, 1e-6, 1 - 1e-6)
    offset = np.log(s / (1 - s))
    x_scaled = bank.logit_scale * x
    d = np.zeros(x.shape[1])
    for _ in range(PROBE_STEPS):
        p = 0.5 * (1 + np.tanh((offset + x_scaled @ d) / 2))  # sigmoid, without overflow
        grad = x_scaled.T @ (p - y) + 2 * PROBE_L2 * d
        hess = (x_scaled * (p * (1 - p))[:, None]).T @ x_scaled + 2 * PROBE_L2 * np.eye(len(d))
        step = np.linalg.solve(hess, grad)
        d -= step
        if np.abs(step).max() < 1e-7:
            break
    return d.astype(np.float32)


def simulate_feedback(cfg, con, truth, truth_at) -> dict:
    """Print the feedback tables; return the headline keys."""
    from reelcat.tagging.step import text_bank
    from reelcat.tagging.vocabulary import load_vocabulary

    vocab = load_vocabulary(cfg.vocabulary)
    bank = text_bank(cfg, vocab)
    archive = load_archive(con, truth, bank.tags, truth_at)
    confusable = sorted(t.name for t in vocab.tags if any(n in vocab.names for n in t.negatives))
    curves = {tag: tag_curves(archive, bank, tag) for tag in confusable}
    noisy = {
        tag: float(
            np.mean(
                [tag_curves(archive, bank, tag, NOISE, d)["row"][2] for d in range(NOISE_DRAWS)]
            )
        )
        for tag in confusable
    }
    rows = {tag: c["row"] for tag, c in curves.items()}

    print(
        "\nfeedback: held-out frame F1 per confusable tag after simulated answers, mean "
        "of two folds (questions from half the videos, F1 on the other half)"
    )
    print(
        "(ceiling: the tag's probe fitted to every training frame's true label, and the "
        "threshold best for the held-out frames themselves: the most that moving this tag "
        f"and its threshold in this model's image space can reach; noisy@20: {NOISE:.0%} of "
        f"the answers flipped, mean of {NOISE_DRAWS} draws; others@20: the largest drop of "
        "any other tag meanwhile; all-labels: the threshold best for every frame of the "
        "question half, on the other half: what answers could teach at most)"
    )
    print("(the hard four, marked *, are the tags the model gets most wrong)")
    hard = sorted(rows, key=lambda tag: rows[tag][0])[:4]
    print(
        f"{'tag':<17} {'before':>6} {'@10':>6} {'@20':>6} {'@50':>6} {'ceiling':>7} "
        f"{'all-labels':>10} {'noisy@20':>8} {'others@20':>9}"
    )
    for tag in sorted(rows, key=lambda tag: rows[tag][0]):
        row = rows[tag]
        print(
            f"{tag:<16}{'*' if tag in hard else ' '} "
            + " ".join(f"{x:6.3f}" for x in row[:5])
            + f" {row[5]:10.3f}  {noisy[tag]:8.3f} {curves[tag]['other_change']:9.3f}"
            + f"   ({' and '.join(map(str, curves[tag]['available']))} questions available)"
        )
    change = {k: min(rows[t][i + 1] - rows[t][0] for t in rows) for i, k in enumerate(ANSWERS)}
    hard_gain = float(np.mean([rows[t][2] - rows[t][0] for t in hard]))
    hard_ceiling = float(np.mean([rows[t][4] - rows[t][0] for t in hard]))
    hard_all_labels = float(np.mean([rows[t][5] - rows[t][0] for t in hard]))
    print(
        f"hard four: mean gain at 20 {hard_gain:+.3f}, mean ceiling gain {hard_ceiling:+.3f} "
        f"(target: > 0 and at least half the ceiling, {hard_ceiling / 2:+.3f}); with every "
        f"label of the question half: {hard_all_labels:+.3f}"
    )

    counts = archive.labels.sum(axis=0)
    chosen = [archive.tags[j] for j in np.argsort(-counts, kind="stable")[:NEW_CONCEPTS]]
    print(
        f"\nnew concepts (the {NEW_CONCEPTS} most common in this archive, each taken out "
        "of the vocabulary in turn; named from one group, then 20 answers):"
    )
    taught = {c: new_concept(archive, c) for c in chosen}
    for c, r in taught.items():
        print(
            f"  {c:<16} held-out F1 {r['f1']:.3f}   (the named group is "
            f"{r['group_share']:.0%} {c}; ceiling {r['ceiling']:.3f}: every training frame of "
            "it as the prototype, the cut best for the held-out frames)"
        )

    gains = {tag: rows[tag][2] - rows[tag][0] for tag in hard}
    ceilings = {tag: rows[tag][4] - rows[tag][0] for tag in hard}
    return {
        "feedback_min_f1_gain_at20": round(min(gains.values()), 4),
        "feedback_max_other_f1_drop": round(max(-curves[t]["other_change"] for t in hard), 4),
        "feedback_min_ceiling_gain": round(min(ceilings.values()), 4),
        "feedback_tags": sorted(hard),
        **{f"feedback_min_f1_change_at{k}": round(v, 4) for k, v in change.items()},
        "feedback_mean_gain_at20_hard4": round(hard_gain, 4),
        "feedback_mean_ceiling_gain_hard4": round(hard_ceiling, 4),
        "feedback_mean_all_labels_gain_hard4": round(hard_all_labels, 4),
        "feedback_noisy10_min_f1_change_at20": round(min(noisy[t] - rows[t][0] for t in rows), 4),
        "new_concept_min_f1_at20": round(min(r["f1"] for r in taught.values()), 4),
        "new_concept_ceiling_of_min": round(
            min(taught.values(), key=lambda r: r["f1"])["ceiling"], 4
        ),
        "new_concepts": chosen,
    }
