-- Archive-wide: in how many frames, videos and seconds each tag holds.
CREATE OR REPLACE TABLE tag_frequencies AS
WITH n AS (SELECT count(*) AS videos, sum(duration) AS seconds FROM video_names
           WHERE video_id IN (SELECT video_id FROM manifest WHERE catalogued))
SELECT v.tag, v.category,
       coalesce(sum(t.frames), 0)::BIGINT AS frames,
       count(t.video_id)::BIGINT AS videos,
       coalesce(count(t.video_id) / nullif(any_value(n.videos), 0), 0) AS share,
       coalesce(sum(t.seconds), 0) AS seconds,
       coalesce(sum(t.seconds) / nullif(any_value(n.seconds), 0), 0) AS share_of_time
FROM vocabulary AS v
CROSS JOIN n
LEFT JOIN video_tags AS t USING (tag)
GROUP BY v.tag, v.category
ORDER BY videos DESC, seconds DESC, v.tag;
