"""One module owns every path under the output folder: no other code spells one."""

from __future__ import annotations

import re

from .conftest import REPO

# File names and folder joins that only reelcat/storage/layout.py may write.
OUTPUT_PATH = re.compile(
    r"""(manifest|frame_errors|thresholds|segments|video_tags|video_summaries|timeline|"""
    r"""video_risk)\.parquet|catalog\.duckdb|heatmap\.png|tag_frequencies\.png|"""
    r"""adaptation\.npz|['"]adaptation_id['"]|\.bank\.npz|"""
    r"""/\s*['"](frames|tags|text|summaries|moderation|feedback|pictures|thumbnails)['"]|"""
    r"""['"](frames|tags|summaries|moderation|feedback|pictures|thumbnails)/(?!s['"])"""
)
PRODUCT = ["reelcat", "assets", "catalog", "orchestration", "benchmarks"]
OWNER = REPO / "reelcat" / "storage" / "layout.py"


def test_no_literal_output_path_outside_the_layout_module():
    offenders = []
    for folder in PRODUCT:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in (".py", ".sql") or path == OWNER:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0] if path.suffix == ".py" else line.split("--")[0]
                if OUTPUT_PATH.search(code):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []


def test_the_check_finds_a_literal_path():
    assert OUTPUT_PATH.search('out / "summaries" / "x"')
    assert OUTPUT_PATH.search("read_parquet('moderation/video_risk.parquet')")
    assert not OUTPUT_PATH.search('row["frames"] + row["tags"], "frames/s"')
