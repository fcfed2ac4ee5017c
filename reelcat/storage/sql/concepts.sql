-- Every named group as a tag in force: its prototype and levels as the answers taught
-- them, or as named until the learning step has run.
CREATE OR REPLACE VIEW concepts AS
SELECT g.tag,
       coalesce(c.prototype, g.centroid) AS prototype,
       coalesce(c.accept, g.accept) AS accept,
       coalesce(c.review, g.review) AS review,
       coalesce(c.answers, 0) AS answers
FROM named_groups AS g
LEFT JOIN taught_concepts AS c USING (tag);
