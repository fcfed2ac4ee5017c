-- The vocabulary the catalogue was built with: tag, category.
CREATE OR REPLACE TABLE vocabulary AS SELECT * FROM vocabulary_rows;
