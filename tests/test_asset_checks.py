"""The asset checks (assets/checks.py): every asset that holds data has one; they pass on a
real catalogue (with a corrupt and an empty file in its archive) and each one fails, saying
what is wrong, on a store broken in the way it guards against."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets import checks
from assets.resources import ReelcatSettings
from orchestration.definitions import defs
from reelcat.storage.layout import Layout

from .conftest import REPO, copy_of, tiny_config


def settings_for(archive, out) -> ReelcatSettings:
    return ReelcatSettings(
        config_file=str(REPO / "reelcat.yaml"), archive_roots=[str(archive)], output_dir=str(out)
    )


def test_every_asset_that_holds_data_has_a_check():
    graph = defs.resolve_asset_graph()
    checked = {key.asset_key.to_user_string() for key in graph.asset_check_keys}
    materialised = {key.to_user_string() for key in graph.materializable_asset_keys}
    assert materialised - checked == set()
    assert "verdict_log" not in materialised  # people write it: no run checks it


def test_the_checks_pass_on_a_real_catalogue(small_archive, catalogued):
    out, _ = catalogued
    settings = settings_for(small_archive, out)
    results = {}
    for check in checks.CHECKS:
        (spec,) = check.check_specs
        result = check(settings=settings)
        assert result.passed, (spec.name, result.metadata)
        results[spec.name] = result
    manifest = results["manifest_is_consistent"].metadata
    assert manifest["ok files"].value == 3 and manifest["error files"].value == 3
    assert results["catalogue_opens_read_only"].metadata["videos"].value == 6  # errors too


def _failed(check, settings) -> str:
    result = check(settings=settings)
    assert not result.passed
    return result.metadata["problems"].value


def test_each_check_says_what_is_wrong(small_archive, catalogued, tmp_path):
    out = copy_of(catalogued[0], tmp_path)
    settings = settings_for(small_archive, out)
    layout = Layout(out)
    cfg = tiny_config(small_archive, out)

    # an ok video the frames step never saw: no frames, no reason, no summary
    manifest = pq.read_table(layout.manifest)
    ghost = manifest.slice(0, 1).to_pylist()[0] | {
        "video_id": "ghost00000000000",
        "path": "/nowhere/ghost.mp4",
        "status": "ok",
        "error": None,
    }
    pq.write_table(
        pa.concat_tables([manifest, pa.Table.from_pylist([ghost], manifest.schema)]),
        layout.manifest,
    )
    said = _failed(checks.every_ok_video_has_frames, settings)
    assert said == "1 ok videos without frames or a reason: ghost.mp4"
    assert "video_summaries: 1 catalogued videos without a row" in _failed(
        checks.one_summary_per_video, settings
    )

    # a score that is not a number
    from reelcat.config import model_id
    from reelcat.tagging.vocabulary import load_vocabulary

    folder = layout.tags_dir(model_id(cfg.model), load_vocabulary(cfg.vocabulary).id)
    batch = Layout.batch_files(folder)[-1]
    tags = pq.read_table(batch)
    scores = tags["score"].to_pylist()
    scores[7] = float("nan")
    tags = tags.set_column(
        tags.schema.get_field_index("score"), "score", pa.array(scores, pa.float32())
    )
    pq.write_table(tags, batch)
    assert _failed(checks.scores_are_numbers, settings) == "1 scores that are not numbers"

    # a tag without thresholds, and a column of the wrong type
    thresholds = pq.read_table(layout.thresholds)
    dropped = thresholds["tag"][0].as_py()
    thresholds = thresholds.filter(pc.not_equal(thresholds["tag"], dropped))
    thresholds = thresholds.set_column(
        thresholds.schema.get_field_index("answers"),
        "answers",
        pc.cast(thresholds["answers"], pa.int64()),
    )
    pq.write_table(thresholds, layout.thresholds)
    said = _failed(checks.thresholds_cover_the_vocabulary, settings).splitlines()
    assert said == [
        "thresholds.parquet: column answers is int64, not int32",
        f"1 tags without thresholds: ['{dropped}']",
    ]


def test_a_run_reports_its_checks_in_the_dagster_event_log(small_archive, catalogued):
    """What the UI's Checks tab shows: the evaluations in the run's event log."""
    out, _ = catalogued
    result = dg.materialize(
        [*checks.CHECKS],
        resources={"settings": settings_for(small_archive, out)},
        selection=dg.AssetSelection.all_asset_checks(),
    )
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(checks.CHECKS)
    assert all(e.passed for e in evaluations)
