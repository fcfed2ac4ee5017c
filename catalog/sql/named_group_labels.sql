-- Taught concepts (named groups) propagated to every frame by similarity to their
-- prototype: 'accepted' at or above the concept's accept level, 'uncertain' (ask a
-- person) in the band below it.
CREATE OR REPLACE VIEW named_group_labels AS
SELECT f.video_id, f.t, f.frame, c.tag,
       list_cosine_similarity(f.embedding, c.prototype) AS similarity,
       CASE WHEN list_cosine_similarity(f.embedding, c.prototype) >= c.accept THEN 'accepted'
            ELSE 'uncertain' END AS status
FROM frames AS f CROSS JOIN concepts AS c
WHERE list_cosine_similarity(f.embedding, c.prototype) >= c.review;
