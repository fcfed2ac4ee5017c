-- Named groups propagated to every frame by similarity to their prototype:
-- 'accepted' above the group's accept level, 'uncertain' (ask a person) in the band.
CREATE OR REPLACE VIEW named_group_labels AS
SELECT f.video_id, f.t, f.frame, g.tag,
       list_cosine_similarity(f.embedding, g.centroid) AS similarity,
       CASE WHEN list_cosine_similarity(f.embedding, g.centroid) >= g.accept THEN 'accepted'
            ELSE 'uncertain' END AS status
FROM frames AS f CROSS JOIN named_groups AS g
WHERE list_cosine_similarity(f.embedding, g.centroid) >= g.review;
