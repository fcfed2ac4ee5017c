-- Concepts as the last learning step left them (reelcat.feedback.learning.teach_concept).
CREATE OR REPLACE VIEW taught_concepts AS
SELECT * FROM read_parquet(concepts_path());
