-- similar_frames('beach.mp4', 12.0, 5): the k stored frames of *other* videos most like
-- the frame of this video nearest t (the same video's own neighbours would fill the list).
-- list_cosine_similarity is core DuckDB (Parquet drops the fixed array size, and the
-- embedding width depends on the model), so no extension is downloaded.
CREATE OR REPLACE MACRO similar_frames(v, at_t, k) AS TABLE
WITH q AS (
    SELECT f.video_id, f.t, f.embedding
    FROM frames AS f
    WHERE f.video_id IN (SELECT video_id FROM manifest
                         WHERE video_id = v OR path = v OR file_name = v)
    ORDER BY abs(f.t - at_t) LIMIT 1
)
SELECT f.video_id,
       (SELECT n.file_name FROM video_names AS n WHERE n.video_id = f.video_id) AS file_name,
       f.t, f.frame,
       list_cosine_similarity(f.embedding, q.embedding) AS similarity
FROM frames AS f CROSS JOIN q
WHERE f.video_id != q.video_id
ORDER BY similarity DESC LIMIT k;
