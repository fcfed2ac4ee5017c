-- Groups people named: each became a tag with a prototype (the group's centroid).
CREATE OR REPLACE VIEW named_groups AS
SELECT tag, accept, review, members, named_at, centroid
FROM read_parquet(named_groups_path())
QUALIFY row_number() OVER (PARTITION BY tag ORDER BY named_at DESC) = 1;
