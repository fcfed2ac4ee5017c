-- One row per file: what it is about, or why it could not be catalogued. `status` is the
-- manifest's ('ok', 'error', 'missing'), or 'damaged': a good file whose decode logged
-- errors (the frame_damage view); the frames that decoded are catalogued, `decode_errors`
-- counts the errors, `first_decode_error` is the first and `damage` says it in words.
CREATE OR REPLACE TABLE video_summaries AS
WITH damage AS (
    SELECT video_id, max(decode_errors) AS decode_errors,
           arg_max(first_decode_error, decode_errors) AS first_decode_error,
           'damaged: ' || max(decode_errors) || ' decode error'
               || CASE WHEN max(decode_errors) = 1 THEN '' ELSE 's' END
               || ', first: ' || arg_max(first_decode_error, decode_errors) AS damage
    FROM frame_damage
    WHERE decode_errors > 0
    GROUP BY video_id
)
SELECT m.video_id, m.path, m.file_name,
       CASE WHEN m.status = 'ok' AND e.error IS NULL AND d.damage IS NOT NULL THEN 'damaged'
            ELSE m.status END AS status,
       m.duration,
       coalesce(s.frames, 0) AS frames,
       coalesce(s.blank_frames, 0) AS blank_frames,
       coalesce(s.top_tags, []::VARCHAR[]) AS top_tags,
       coalesce(s.top_coverage, []::DOUBLE[]) AS top_coverage,
       coalesce(s.top_scores, []::DOUBLE[]) AS top_scores,
       CASE WHEN m.status = 'error' THEN 'not catalogued: ' || m.error
            WHEN m.status = 'missing' THEN coalesce(s.about, '')
                || coalesce(' [' || d.damage || ']', '') || ' [missing: ' || m.error || ']'
            WHEN e.error IS NOT NULL THEN 'not catalogued: ' || e.error
            ELSE coalesce(s.about, 'no frames: nothing to summarise')
                || coalesce(' [' || d.damage || ']', '') END AS about,
       CASE WHEN m.status != 'error' AND e.error IS NULL THEN coalesce(d.decode_errors, 0)
            END AS decode_errors,
       CASE WHEN m.status != 'error' AND e.error IS NULL THEN d.first_decode_error
            END AS first_decode_error,
       CASE WHEN m.status != 'error' AND e.error IS NULL THEN d.damage END AS damage
FROM manifest AS m
LEFT JOIN read_parquet(video_summaries_path()) AS s USING (video_id)
LEFT JOIN frame_errors AS e USING (video_id)
LEFT JOIN damage AS d USING (video_id)
ORDER BY m.path;
