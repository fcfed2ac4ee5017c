-- Per-tag thresholds: accepted above `accept`, ask a person between `review` and `accept`.
CREATE OR REPLACE TABLE thresholds AS
SELECT t.*, v.category
FROM read_parquet('summaries/thresholds.parquet') AS t
JOIN vocabulary AS v USING (tag)
ORDER BY tag;
