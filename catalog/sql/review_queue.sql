-- The reviewer's queue: videos to review first (riskiest first) with the time ranges
-- to watch and their peak-frame thumbnails; cleared videos follow, listed not dropped.
-- The order is video_risk.position, decided once by the moderation step.
CREATE OR REPLACE VIEW review_queue AS
WITH ranges AS (
    SELECT video_id,
           list(struct_pack(concept := concept, start := round(start, 1),
                            "end" := round("end", 1), peak := round(peak, 3),
                            thumbnail := thumbnail) ORDER BY start) AS time_ranges
    FROM moderation_segments GROUP BY video_id
)
SELECT r.position, r.file_name, r.decision, round(r.risk, 3) AS risk,
       round(r.peak_severity, 3) AS peak_severity, round(r.seconds_flagged, 1) AS seconds_flagged,
       r.segments, coalesce(g.time_ranges, []) AS time_ranges, r.evidence, r.video_id, r.path
FROM video_risk AS r
LEFT JOIN ranges AS g USING (video_id)
ORDER BY position;
