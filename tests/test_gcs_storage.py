"""Google Cloud Storage: `--archive gs://…` and `--out gs://…` against a real GCS server
(gcp-storage-emulator, started here on 127.0.0.1: tests/gcs_server.py), through the same
code as S3 (reelcat.storage.remote picks pyarrow's GcsFileSystem for `gs://`), catalogued
like the same files on disk."""

from __future__ import annotations

import json
import os
import re

import pytest
from pyarrow import fs

from catalog.build import open_catalog
from reelcat.config import load_config
from reelcat.storage import remote

from .conftest import ffmpeg_calls, ffprobe_calls, run_cli
from .gcs_server import gcs_server
from .test_object_storage import _catalogue, _catalogue_of, _scores

ARCHIVE_BUCKET, OUTPUT_BUCKET = "reels-archive", "reels-catalogue"
ARCHIVE = f"gs://{ARCHIVE_BUCKET}/nightly/archive"
OUTPUT = f"gs://{OUTPUT_BUCKET}/team/catalogue"


@pytest.fixture(scope="module")
def gcs_endpoint():
    with gcs_server(ARCHIVE_BUCKET, OUTPUT_BUCKET) as url:
        yield url


@pytest.fixture
def gcs_env(gcs_endpoint, monkeypatch, tmp_path):
    """Google's standard environment for the server (a run_cli subprocess inherits it):
    STORAGE_EMULATOR_HOST, and a service account key made here, which signs the URLs
    ffmpeg reads (as a real one would; the emulator does not check signatures)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = tmp_path / "service-account.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "reelcat-test",
                "private_key_id": "test-key",
                "private_key": pem,
                "client_email": "cataloguer@reelcat-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",  # never asked: signing is local
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(account))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    return gcs_endpoint


@pytest.fixture
def gcs_archive(gcs_env, small_archive) -> str:
    """The small archive's files uploaded under ARCHIVE (same relative keys)."""
    store = remote.filesystem(ARCHIVE)
    for path in sorted(small_archive.rglob("*")):
        if path.is_file():
            key = f"{ARCHIVE}/{path.relative_to(small_archive).as_posix()}"
            with store.open_output_stream(remote.fs_path(key)) as out:
                out.write(path.read_bytes())
    return ARCHIVE


def _objects(prefix: str) -> dict[str, int]:
    """relative key -> modification time (ns) of every object under `prefix`."""
    base = remote.fs_path(prefix)
    infos = remote.filesystem(prefix).get_file_info(fs.FileSelector(base, recursive=True))
    return {
        i.path.removeprefix(base + "/"): i.mtime_ns for i in infos if i.type == fs.FileType.File
    }


def test_gs_urls_are_roots_and_outputs():
    cfg = load_config(environ={"REELCAT_ARCHIVE_ROOTS": f"{ARCHIVE}/:/data/videos"})
    assert cfg.archive_roots[0] == ARCHIVE
    assert str(cfg.archive_roots[1]) == "/data/videos"
    assert load_config(environ={"REELCAT_OUTPUT_DIR": OUTPUT}).output_url == OUTPUT
    with pytest.raises(ValueError, match="s3://bucket/prefix or gs://bucket/prefix"):
        load_config(environ={"REELCAT_ARCHIVE_ROOTS": "az://somewhere/videos"})


def test_archive_and_catalogue_in_google_cloud_storage(
    gcs_archive, gcs_env, catalogued, tmp_path, monkeypatch
):
    """A run from gs:// into gs://; `reelcat sql` on a second machine reads the bucket;
    a rerun on a third decodes nothing and re-uploads no frames. The catalogue equals
    the same archive's catalogued on disk."""
    local_out, _ = catalogued
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "machine-a"))
    probes, decodes = len(ffprobe_calls()), ffmpeg_calls()
    code, stdout, stderr = run_cli("run", "--archive", gcs_archive, "--out", OUTPUT)
    assert code == 0, stderr[-3000:]
    assert f"-> {OUTPUT}" in stdout
    assert ffmpeg_calls() > decodes
    # ffprobe read each object through a V4 signed URL on the server, made then
    new_calls = ffprobe_calls()[probes:]
    assert len(new_calls) == 5  # every non-empty video file, once
    assert all("X-Goog-Signature=" in c and gcs_env in c for c in new_calls)

    published = _objects(OUTPUT)
    assert {"manifest.parquet", "catalog.duckdb", "pictures/heatmap.png"} <= set(published)
    assert any(k.startswith("frames/") and k.endswith(".parquet") for k in published)
    assert not any(k.rsplit("/", 1)[-1].startswith(".") for k in published)

    # machine b: `reelcat sql` downloads the catalogue file only and reads the bucket
    machine_b = tmp_path / "machine-b"
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(machine_b))
    code, stdout, stderr = run_cli("sql", "--out", OUTPUT, "SELECT count(*) AS n FROM frames")
    assert code == 0, stderr[-3000:]
    local = open_catalog(local_out)
    (frames,) = local.execute("SELECT count(*) FROM frames").fetchone()
    assert re.search(rf"│\s+{frames} │", stdout), stdout
    assert sorted(p.name for p in machine_b.rglob("*") if p.is_file()) == [
        ".reelcat-mirror.json",
        "catalog.duckdb",
    ]
    con = open_catalog(next(machine_b.rglob("catalog.duckdb")).parent, OUTPUT)
    assert _catalogue_of(con) == _catalogue(local_out)
    assert len(_catalogue_of(con)) == 3
    scores, local_scores = _scores(con), _scores(local)
    assert scores.keys() == local_scores.keys()
    assert all(abs(scores[k] - v) < 1e-4 for k, v in local_scores.items())
    rows = con.execute("SELECT path, status, error FROM manifest").fetchall()
    assert all(path.startswith(ARCHIVE + "/") for path, _, _ in rows)  # the gs:// path kept
    errors = {path.rsplit("/", 1)[-1]: error for path, status, error in rows if status == "error"}
    assert set(errors) == {"notes.mp4", "truncated.mp4", "empty.mp4"}
    assert not any("X-Goog" in e for e in errors.values())  # no signature in a reason

    # machine c reruns: decodes nothing, re-uploads no frames object
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "machine-c"))
    decodes = ffmpeg_calls()
    code, _, stderr = run_cli("run", "--archive", gcs_archive, "--out", OUTPUT)
    assert code == 0, stderr[-3000:]
    assert ffmpeg_calls() == decodes
    frames_before = {k: v for k, v in published.items() if k.startswith("frames/")}
    assert {k: v for k, v in _objects(OUTPUT).items() if k.startswith("frames/")} == frames_before


def test_signed_urls_sign_with_a_service_account_and_never_leak(gcs_archive, tmp_path, monkeypatch):
    url = remote.readable(f"{ARCHIVE}/sub/bars.mp4")
    assert url.startswith(f"{os.environ['STORAGE_EMULATOR_HOST']}/{ARCHIVE_BUCKET}/")
    assert "/nightly/archive/sub/bars.mp4?" in url and "X-Goog-Signature=" in url
    said = remote.redact(f"[http @ 0x1] HTTP error 404 Not Found\n{url}: No such file", url, "x")
    assert "X-Goog" not in said and said.endswith("x: No such file")
    assert "X-Goog" not in remote.redact(f"Opening '{url}' for reading")

    # a person's login cannot sign: the reason, not a stack of Google's
    person = tmp_path / "person.json"
    person.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(person))
    with pytest.raises(OSError, match="cannot sign: use a service account"):
        remote.readable(f"{ARCHIVE}/sub/bars.mp4")
