-- Per video and tag: time coverage (tf), document frequency, idf, tf-idf and rank.
CREATE OR REPLACE TABLE video_tags AS
SELECT video_id, tag, rank, frames, seconds, coverage, mean_score, peak_score,
       tf, df, idf, tfidf, weight, ubiquitous
FROM video_tag_rows
ORDER BY video_id, rank;
