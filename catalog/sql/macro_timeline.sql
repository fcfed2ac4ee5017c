-- timeline('beach.mp4', 'beach', 10): the tag's peak and mean score per time bin.
CREATE OR REPLACE MACRO timeline(v, tag_name, bin_seconds) AS TABLE
SELECT floor(g.t / bin_seconds) * bin_seconds AS bin_start,
       max(g.score) AS peak_score, avg(g.score) AS mean_score, count(*) AS frames
FROM frame_tags AS g
JOIN manifest AS m USING (video_id)
WHERE (m.video_id = v OR m.path = v OR m.file_name = v) AND g.tag = tag_name
GROUP BY ALL ORDER BY bin_start;
