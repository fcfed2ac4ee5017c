-- What this catalogue was built from: the model, sampling and vocabulary its views show.
CREATE OR REPLACE TABLE catalog_settings AS
SELECT $model_id::VARCHAR AS model_id,
       $sampling_id::VARCHAR AS sampling_id,
       $vocabulary_id::VARCHAR AS vocabulary_id,
       $interval_seconds::DOUBLE AS interval_seconds,
       $results_key::VARCHAR AS results_key,
       now() AS built_at;
