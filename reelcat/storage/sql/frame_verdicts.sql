-- The one rule for what people said about a stored frame. Each answer in force covers
-- frames of its own video only:
--   scope 'frame': the stored frame nearest its time (the anchor) and the rest of its
--     shot: the unbroken run of frames around it, at most shot_seconds() away, that look
--     like it (cosine of embeddings to the anchor at least shot_cosine());
--   scope 'video': every frame of the video.
-- On each (frame, tag) an answer about that very frame or its whole video comes before
-- one that covers it only as part of another frame's shot; among those the newest wins,
-- whatever its scope. 'unsure' means "keep the model's score". `anchor` marks the frame an answer was given about
-- (what learning counts: one answer is one example, however long its shot).
-- Python (reelcat.tagging.scores, reelcat.feedback) and the catalogue (labels_final)
-- both read this view.
CREATE OR REPLACE MACRO shot_cosine() AS 0.9;
CREATE OR REPLACE MACRO shot_seconds() AS 10.0;
CREATE OR REPLACE VIEW frame_verdicts AS
WITH anchors AS (
    SELECT v.verdict_id, v.scope, v.video_id, v.tag, v.verdict, v.answered_at, v.source,
           f.t AS anchor_t, f.embedding AS anchor_embedding
    FROM verdicts_effective AS v
    JOIN frames AS f ON f.video_id = v.video_id
    WHERE v.scope = 'frame'
    QUALIFY row_number() OVER (PARTITION BY v.verdict_id
                               ORDER BY abs(f.t - v.start), f.t) = 1
),
nearby AS (
    SELECT a.*, f.t, f.frame,
           f.t = a.anchor_t
           OR list_cosine_similarity(f.embedding, a.anchor_embedding) >= shot_cosine() AS alike
    FROM anchors AS a
    JOIN frames AS f ON f.video_id = a.video_id
                    AND abs(f.t - a.anchor_t) <= shot_seconds()
),
shot_bounds AS (
    SELECT verdict_id,
           max(t) FILTER (WHERE NOT alike AND t < anchor_t) AS first_break_before,
           min(t) FILTER (WHERE NOT alike AND t > anchor_t) AS first_break_after
    FROM nearby
    GROUP BY verdict_id
),
frame_answers AS (
    SELECT n.verdict_id, n.scope, n.video_id, n.tag, n.verdict, n.answered_at, n.source,
           n.t, n.frame, n.t = n.anchor_t AS anchor
    FROM nearby AS n
    JOIN shot_bounds AS b USING (verdict_id)
    WHERE n.t > coalesce(b.first_break_before, -1e300)
      AND n.t < coalesce(b.first_break_after, 1e300)
),
video_answers AS (
    SELECT v.verdict_id, v.scope, v.video_id, v.tag, v.verdict, v.answered_at, v.source,
           f.t, f.frame, false AS anchor
    FROM verdicts_effective AS v
    JOIN frames AS f ON f.video_id = v.video_id
    WHERE v.scope = 'video'
)
SELECT * FROM (SELECT * FROM frame_answers UNION ALL SELECT * FROM video_answers)
QUALIFY row_number() OVER (PARTITION BY video_id, t, tag
                           ORDER BY anchor OR scope = 'video' DESC, answered_at DESC,
                                    verdict_id DESC) = 1;
