-- One row per file: what it is about, or why it could not be catalogued.
CREATE OR REPLACE TABLE video_summaries AS
SELECT m.video_id, m.path, m.file_name, m.status, m.duration,
       coalesce(s.frames, 0) AS frames,
       coalesce(s.blank_frames, 0) AS blank_frames,
       coalesce(s.top_tags, []::VARCHAR[]) AS top_tags,
       coalesce(s.top_coverage, []::DOUBLE[]) AS top_coverage,
       coalesce(s.top_scores, []::DOUBLE[]) AS top_scores,
       CASE WHEN m.status = 'error' THEN 'not catalogued: ' || m.error
            WHEN m.status = 'missing' THEN coalesce(s.about, '') || ' [missing: ' || m.error || ']'
            WHEN e.error IS NOT NULL THEN 'not catalogued: ' || e.error
            ELSE coalesce(s.about, 'no frames: nothing to summarise') END AS about
FROM manifest AS m
LEFT JOIN read_parquet(video_summaries_path()) AS s USING (video_id)
LEFT JOIN frame_errors AS e USING (video_id)
ORDER BY m.path;
