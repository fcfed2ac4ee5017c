"""Configuration: one validated model, clear errors, env and override precedence."""

from __future__ import annotations

import pytest

from reelcat.config import ConfigError, load_config
from reelcat.tagging.vocabulary import VocabularyError, load_vocabulary

from .conftest import REPO


def test_bundled_config_points_at_the_offline_model(tmp_path):
    cfg = load_config(REPO / "reelcat.yaml", environ={})
    assert cfg.model.name == "reelcat-tiny-clip"
    assert cfg.model.pretrained == str(REPO / "reelcat/models/reelcat-tiny-clip.pt")
    assert cfg.archive_roots == [REPO / "sample_archive"]
    assert cfg.model.random_weights is False


def test_defaults_are_the_real_model_for_real_users(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert (cfg.model.name, cfg.model.pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    assert cfg.sampling.interval_seconds == 2.0
    assert len(load_vocabulary(cfg.vocabulary).tags) >= 100


def test_env_then_overrides_take_precedence(tmp_path):
    env = {
        "REELCAT_MODEL_NAME": "ViT-L-14",
        "REELCAT_SAMPLING_INTERVAL_SECONDS": "5",
        "REELCAT_ARCHIVE_ROOTS": "/a:/b",
    }
    cfg = load_config(REPO / "reelcat.yaml", environ=env)
    assert cfg.model.name == "ViT-L-14"
    assert cfg.sampling.interval_seconds == 5.0
    assert [str(p) for p in cfg.archive_roots] == ["/a", "/b"]
    cfg = load_config(
        REPO / "reelcat.yaml", environ=env, overrides={"sampling": {"interval_seconds": 3}}
    )
    assert cfg.sampling.interval_seconds == 3.0


def test_invalid_values_are_reported_together_with_their_place(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampling:\n  mode: sometimes\n  interval_seconds: -1\nmodle: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad, environ={})
    msg = str(err.value)
    assert "sampling.mode" in msg and "sampling.interval_seconds" in msg
    assert "modle" in msg  # a typo is an error, not silently ignored


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_vocabulary_errors_say_what_is_wrong(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("tags:\n  - beach\n  - beach\n")
    with pytest.raises(VocabularyError, match="'beach' appears twice"):
        load_vocabulary(dup)
    band = tmp_path / "band.yaml"
    band.write_text("tags:\n  - {name: fire, accept: 0.3, review: 0.5}\n")
    with pytest.raises(VocabularyError, match="review 0.5 above accept 0.3"):
        load_vocabulary(band)
    negative = tmp_path / "negative.yaml"
    negative.write_text("tags:\n  - {name: blood, category: sensitive, min_seconds: -2}\n")
    with pytest.raises(VocabularyError, match="'blood' has min_seconds -2"):
        load_vocabulary(negative)


def test_the_synthetic_vocabulary_asks_sensitive_content_to_hold_4_seconds():
    vocab = load_vocabulary(REPO / "reelcat" / "vocabularies" / "synthetic.yaml")
    assert {t.name: t.min_seconds for t in vocab.tags if t.sensitive} == {
        "blood": 4.0,
        "weapon": 4.0,
    }
    assert vocab.tag("beach").min_seconds == 0.0


def test_vocabulary_id_changes_with_content(tmp_path):
    a = tmp_path / "v.yaml"
    a.write_text("tags: [beach]\n")
    first = load_vocabulary(a).id
    a.write_text("tags: [beach, fire]\n")
    assert load_vocabulary(a).id != first and first.startswith("v-")


def test_an_output_in_object_storage_is_worked_on_in_a_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "mirrors"))
    cfg = load_config(overrides={"output_dir": "s3://reels/team/out/"}, environ={})
    assert cfg.output_url == "s3://reels/team/out" and cfg.output == cfg.output_url
    assert cfg.output_dir == tmp_path / "mirrors" / "reels" / "team" / "out"
    with pytest.raises(ConfigError, match="an output URL must be s3://bucket/prefix or gs://"):
        load_config(overrides={"output_dir": "az://reels/out"}, environ={})
