-- Per-tag thresholds in force: accepted above `accept`, ask a person between `review`
-- and `accept`; `baseline_*` is what the model's own scores give, before any answer.
CREATE OR REPLACE TABLE thresholds AS
SELECT t.*, v.category
FROM read_parquet(thresholds_path()) AS t
JOIN vocabulary AS v USING (tag)
ORDER BY tag;
