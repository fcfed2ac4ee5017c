-- Per-tag thresholds: accepted above `accept`, ask a person between `review` and `accept`.
CREATE OR REPLACE TABLE thresholds AS
SELECT t.*, v.category
FROM threshold_rows AS t JOIN vocabulary_rows AS v USING (tag)
ORDER BY tag;
