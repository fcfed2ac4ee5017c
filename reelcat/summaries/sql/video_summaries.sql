-- Per video: the top tags (weight > 0, at least $min_top_coverage of the time, the
-- first $top_tags by rank) and the summary line: those, and up to $brief_tags briefer
-- ones, each ordered by share of time: "mostly beach (62%) and underwater (30%); briefly
-- fire (3%)". Reads `video_tags` and `results_video_frames`. Percentages round half to even.
WITH weighted AS (
    SELECT *, coverage >= $min_top_coverage AS main FROM video_tags WHERE weight > 0
),
picked AS (
    SELECT *, tag || ' (' || round_even(coverage * 100, 0)::BIGINT || '%)' AS word
    FROM weighted
    QUALIFY row_number() OVER (PARTITION BY video_id, main ORDER BY rank)
            <= CASE WHEN main THEN $top_tags ELSE $brief_tags END
),
per_video AS (
    SELECT video_id,
           list(tag ORDER BY rank) FILTER (WHERE main) AS top_tags,
           list(round_even(coverage, 4) ORDER BY rank) FILTER (WHERE main) AS top_coverage,
           list(round_even(mean_score, 4) ORDER BY rank) FILTER (WHERE main) AS top_scores,
           list(word ORDER BY coverage DESC, rank) FILTER (WHERE main) AS main_words,
           max(coverage) FILTER (WHERE main) AS lead,
           list(word ORDER BY coverage DESC, rank) FILTER (WHERE NOT main) AS brief_words
    FROM picked GROUP BY video_id
)
SELECT v.video_id, v.frames, v.blank_frames,
       coalesce(p.top_tags, []::VARCHAR[]) AS top_tags,
       coalesce(p.top_coverage, []::DOUBLE[]) AS top_coverage,
       coalesce(p.top_scores, []::DOUBLE[]) AS top_scores,
       CASE WHEN v.frames = 0 THEN 'no frames: nothing to summarise'
            WHEN v.frames = v.blank_frames THEN 'only blank frames: nothing to summarise'
            ELSE coalesce(nullif(concat_ws('; ',
                CASE WHEN len(p.main_words) > 0 THEN
                    CASE WHEN p.lead >= 0.5 THEN 'mostly ' ELSE '' END
                    || CASE WHEN len(p.main_words) <= 2
                            THEN array_to_string(p.main_words, ' and ')
                            ELSE array_to_string(p.main_words[1:len(p.main_words) - 1], ', ')
                                 || ' and ' || p.main_words[len(p.main_words)] END
                END,
                CASE WHEN len(p.brief_words) > 0
                     THEN 'briefly ' || array_to_string(p.brief_words, ', ') END), ''),
                'nothing recognised with confidence') END AS about
FROM results_video_frames AS v
LEFT JOIN per_video AS p USING (video_id)
ORDER BY v.video_id
