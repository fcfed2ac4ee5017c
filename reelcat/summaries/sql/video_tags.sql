-- Per video and tag: coverage (tf), document frequency, idf = ln(N / df) (1 under
-- $min_idf_videos videos), tf-idf, weight = coverage x mean score x idf, and rank within
-- the video (weight, then coverage, then name). Reads `results_tag_stats` and
-- `results_video_frames`.
WITH n AS (SELECT count(*) AS videos FROM results_video_frames),
df AS (SELECT tag, count(*) AS df FROM results_tag_stats GROUP BY tag),
weighted AS (
    SELECT s.*, df.df,
           CASE WHEN n.videos >= $min_idf_videos THEN ln(n.videos::DOUBLE / df.df)
                ELSE 1.0 END AS idf,
           n.videos >= $min_idf_videos AND df.df = n.videos AS ubiquitous
    FROM results_tag_stats AS s JOIN df USING (tag) CROSS JOIN n
)
SELECT video_id, tag,
       row_number() OVER (PARTITION BY video_id
                          ORDER BY coverage * mean_score * idf DESC, coverage DESC, tag
                         )::INTEGER AS rank,
       frames, seconds, coverage, mean_score, peak_score,
       coverage AS tf, df::INTEGER AS df, idf, coverage * idf AS tfidf,
       coverage * mean_score * idf AS weight, ubiquitous
FROM weighted
ORDER BY video_id, tag
