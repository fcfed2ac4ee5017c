"""The archive in object storage: `--archive s3://bucket/prefix` against a real
S3-compatible server (moto's, started here on 127.0.0.1), catalogued like the same files
on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from catalog.build import open_catalog
from reelcat.config import load_config
from reelcat.feedback import question_media
from reelcat.ingest import manifest as manifest_mod
from reelcat.ingest.manifest import fingerprint, scan_roots
from reelcat.storage import remote
from reelcat.storage.layout import GENESIS, Layout

from .conftest import ffmpeg_calls, ffprobe_calls, run_cli, store, tiny_config

BUCKET = "reels-archive"
PREFIX = "nightly/archive"
KEY_ID, SECRET, REGION = "testing-key", "testing-secret", "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def s3_archive(s3_endpoint, small_archive) -> str:
    """The small archive's files uploaded under s3://BUCKET/PREFIX/ (same relative keys)."""
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(small_archive.rglob("*")):
        if path.is_file():
            key = f"{PREFIX}/{path.relative_to(small_archive).as_posix()}"
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return f"s3://{BUCKET}/{PREFIX}"


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch, tmp_path):
    """The standard AWS environment for the server (a run_cli subprocess inherits it)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_endpoint


def test_archive_roots_keep_urls_whole(tmp_path):
    env = {"REELCAT_ARCHIVE_ROOTS": f"s3://{BUCKET}/{PREFIX}/:/data/videos:s3://other"}
    cfg = load_config(environ=env)
    assert cfg.archive_roots[0] == f"s3://{BUCKET}/{PREFIX}"
    assert str(cfg.archive_roots[1]) == "/data/videos"
    assert cfg.archive_roots[2] == "s3://other"
    conf = tmp_path / "reelcat.yaml"
    conf.write_text(f"archive_roots: [s3://{BUCKET}/{PREFIX}, videos]\n")
    cfg = load_config(conf, environ={})
    assert cfg.archive_roots == [f"s3://{BUCKET}/{PREFIX}", tmp_path / "videos"]
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        load_config(environ={"REELCAT_ARCHIVE_ROOTS": "az://somewhere/videos"})


def test_scan_lists_objects_and_fingerprints_with_ranged_reads(
    aws_env, s3_archive, small_archive, monkeypatch, tmp_path
):
    files, problems = scan_roots([s3_archive])
    assert problems == []
    names = {f"{s3_archive}/{p}" for p in ("testsrc.mp4", "red.webm", "sub/bars.mp4")}
    names |= {f"{s3_archive}/{p}" for p in ("empty.mp4", "notes.mp4", "truncated.mp4")}
    assert set(files) == names  # readme.txt is no video
    for url in files:  # the same content has the same video id on disk and in the bucket
        local = small_archive / url.removeprefix(s3_archive + "/")
        assert fingerprint(url) == fingerprint(local)

    # a big object is read as ranged GETs of the sampled blocks, never whole
    big = bytes(range(256)) * (12 * 1024)  # 3 MiB
    _client(aws_env).put_object(Bucket=BUCKET, Key="big/clip.mp4", Body=big)
    reads: list[int] = []
    opened = remote.open_object

    class Spy:
        def __init__(self, url):
            self.fh = opened(url)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def size(self):
            return self.fh.size()

        def read_at(self, n, offset):
            reads.append(n)
            return self.fh.read_at(n, offset)

    monkeypatch.setattr(remote, "open_object", Spy)
    local = tmp_path / "big-clip.mp4"
    local.write_bytes(big)
    assert fingerprint(f"s3://{BUCKET}/big/clip.mp4") == fingerprint(local)
    assert reads == [manifest_mod._SAMPLE_BLOCK] * manifest_mod._SAMPLES
    assert sum(reads) < len(big) / 4

    # a bucket that does not exist is a missing root; a prefix with nothing, an empty one
    _, problems = scan_roots(["s3://no-such-bucket-here/x", f"s3://{BUCKET}/nothing-here"])
    assert [(p.root, p.state) for p in problems] == [
        ("s3://no-such-bucket-here/x", "missing"),
        (f"s3://{BUCKET}/nothing-here", "empty"),
    ]


def _catalogue(out):
    return _catalogue_of(open_catalog(out))


def _catalogue_of(con):
    videos = {
        vid: (status, frames, tuple(tops or ()))
        for vid, status, frames, tops in con.execute(
            "SELECT s.video_id, s.status, (SELECT count(*) FROM frames f "
            "WHERE f.video_id = s.video_id), s.top_tags FROM video_summaries s "
            "WHERE s.status != 'error'"
        ).fetchall()
    }
    return videos


def test_run_over_an_archive_in_object_storage(aws_env, s3_archive, catalogued, tmp_path):
    local_out, _ = catalogued
    out = tmp_path / "out"
    probes, decodes = len(ffprobe_calls()), ffmpeg_calls()
    code, stdout, stderr = run_cli("run", "--archive", s3_archive, "--out", str(out))
    assert code == 0, stderr[-3000:]
    assert len(ffprobe_calls()) - probes == 5  # every non-empty video file, once
    assert ffmpeg_calls() > decodes
    # every probe and decode read a presigned URL made then, not a copy of the object
    new_calls = ffprobe_calls()[probes:]
    assert all("X-Amz-Signature=" in c and aws_env in c for c in new_calls)

    rows = {r["path"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    local_rows = {r["path"]: r for r in pq.read_table(local_out / "manifest.parquet").to_pylist()}
    local_root = min(local_rows, key=len).rsplit("/", 1)[0]
    by_name = {p.removeprefix(s3_archive): r for p, r in rows.items()}
    local_by_name = {p.removeprefix(local_root): r for p, r in local_rows.items()}
    assert set(by_name) == set(local_by_name)
    assert all(p.startswith(s3_archive + "/") for p in rows)  # the s3:// path is kept
    for name, row in by_name.items():
        mine = local_by_name[name]
        assert (row["video_id"], row["status"]) == (mine["video_id"], mine["status"]), name
        if row["status"] == "error":  # the same reason, naming the object, never a URL
            assert row["error"] == mine["error"].replace(local_root, s3_archive), name
        assert "X-Amz" not in (row["error"] or "")
    assert {r["status"] for r in rows.values()} == {"ok", "error"}

    # the same videos, frames and top tags as the same archive catalogued from disk
    assert _catalogue(out) == _catalogue(local_out)
    assert len(_catalogue(out)) == 3

    # a rerun decodes nothing and probes no catalogued video again (only the two files
    # that failed, which every run retries, as on disk)
    probes, decodes = len(ffprobe_calls()), ffmpeg_calls()
    code, _, stderr = run_cli("run", "--archive", s3_archive, "--out", str(out))
    assert code == 0, stderr[-3000:]
    reprobed = sorted(c.split("?")[0].rsplit("/", 1)[-1] for c in ffprobe_calls()[probes:])
    assert reprobed == ["notes.mp4", "truncated.mp4"]
    assert ffmpeg_calls() == decodes

    # the review page's question frame is cut from the object, the same pixels as on disk
    con = store(out)
    (vid, t) = con.execute(
        "SELECT f.video_id, f.t FROM frames f JOIN manifest m USING (video_id) "
        "WHERE m.path LIKE '%/testsrc.mp4' ORDER BY f.t LIMIT 1 OFFSET 3"
    ).fetchone()
    source = question_media.archive_file(con, vid)
    assert source["path"] == f"{s3_archive}/testsrc.mp4"
    before = ffmpeg_calls()
    jpg = question_media.frame(Layout(out), source, vid, t)
    assert ffmpeg_calls() == before + 1
    local_source = question_media.archive_file(store(local_out), vid)
    local_jpg = question_media.frame(Layout(tmp_path / "local-media"), local_source, vid, t)
    assert jpg.read_bytes() == local_jpg.read_bytes()


def test_a_missing_object_is_a_media_error_without_a_signature(aws_env, s3_archive, tmp_path):
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE manifest AS SELECT 'v1' AS video_id, ? AS path, 5.0 AS duration, "
        "320 AS width, 240 AS height, 'ok' AS status",
        [f"{s3_archive}/gone.mp4"],
    )
    with pytest.raises(question_media.MediaError, match="missing or unreadable"):
        question_media.archive_file(con, "v1")
    # ffmpeg's own words about a presigned URL never carry the signature
    source = {"path": f"{s3_archive}/notes.mp4", "duration": 5.0, "width": 320, "height": 240}
    with pytest.raises(question_media.MediaError) as err:
        question_media.frame(Layout(tmp_path / "out"), source, "v2", 1.0)
    assert "X-Amz" not in str(err.value)


@pytest.mark.slow
def test_cluster_run_over_an_archive_in_object_storage(aws_env, s3_archive, catalogued, tmp_path):
    """Issue 18 on a cluster with the archive in the bucket: a head that runs nothing and
    one bare worker (no reelcat, no copy of the archive, a clean environment given only
    the AWS variables), so every decode runs there, reading a presigned URL it makes.
    The catalogue is the local run's: the same videos and statuses, frames and
    embeddings."""
    from .test_ray_cluster import assert_same_frames, finished, ray_cluster

    local_out, _ = catalogued
    out = tmp_path / "cluster"
    aws = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    worker_env = [arg for item in sorted(aws.items()) for arg in ("--worker-env", "=".join(item))]
    with ray_cluster(
        "--head-cpus",
        "0",
        "--workers",
        "0",
        "--bare-workers",
        "1",
        "--worker-cpus",
        "2",
        *worker_env,
    ) as cluster:
        run = cluster.run(s3_archive, out, tmp_path / "run", cwd=tmp_path, **aws)
        code, stdout, stderr = finished(run, tmp_path / "run")
        assert code == 0, stdout[-2000:] + stderr[-3000:]
    assert cluster.drivers == "1"

    def statuses(folder):
        rows = pq.read_table(folder / "manifest.parquet").to_pylist()
        return {r["video_id"]: r["status"] for r in rows}

    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    assert all(r["path"].startswith(s3_archive + "/") for r in rows)
    assert statuses(out) == statuses(local_out)
    assert _catalogue(out) == _catalogue(local_out)
    assert_same_frames(local_out, out)


OUTPUT_BUCKET = "reels-catalogue"


def _objects(endpoint: str, prefix: str) -> dict[str, tuple[str, object]]:
    """key (relative to `prefix`) -> (ETag, LastModified) of every object under it."""
    pages = _client(endpoint).get_paginator("list_objects_v2")
    return {
        o["Key"].removeprefix(prefix + "/"): (o["ETag"], o["LastModified"])
        for page in pages.paginate(Bucket=OUTPUT_BUCKET, Prefix=prefix + "/")
        for o in page.get("Contents", [])
    }


def _scores(con) -> dict[tuple, float]:
    """(video, time, tag) -> score, every frame_tags row."""
    rows = con.execute("SELECT video_id, t, tag, score FROM frame_tags").fetchall()
    return {(vid, t, tag): score for vid, t, tag, score in rows}


def test_the_catalogue_in_object_storage_equals_the_local_one(
    aws_env, s3_archive, catalogued, tmp_path, monkeypatch
):
    """`--out s3://…`: a run publishes the output folder to the bucket from this machine's
    mirror; another machine queries it with `reelcat sql` (DuckDB reading the Parquet
    files in the bucket), and a rerun there decodes nothing and re-uploads no frames."""
    local_out, _ = catalogued
    _client(aws_env).create_bucket(Bucket=OUTPUT_BUCKET)
    url = f"s3://{OUTPUT_BUCKET}/team/catalogue"
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "machine-a"))
    code, stdout, stderr = run_cli("run", "--archive", s3_archive, "--out", url)
    assert code == 0, stderr[-3000:]
    assert f"-> {url}" in stdout
    published = _objects(aws_env, "team/catalogue")
    assert {"manifest.parquet", "catalog.duckdb", "pictures/heatmap.png"} <= set(published)
    assert any(k.startswith("frames/") and k.endswith(".parquet") for k in published)
    assert not any(k.rsplit("/", 1)[-1].startswith(".") for k in published)  # no temp files

    # machine b: `reelcat sql` downloads the catalogue file only; the rows come from the
    # bucket and equal the catalogue of the same archive built on disk
    machine_b = tmp_path / "machine-b"
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(machine_b))
    code, stdout, stderr = run_cli(
        "sql", "--out", url, "SELECT count(*) AS n FROM frames WHERE video_id IS NOT NULL"
    )
    assert code == 0, stderr[-3000:]
    local = open_catalog(local_out)
    (frames,) = local.execute("SELECT count(*) FROM frames").fetchone()
    assert re.search(rf"│\s+{frames} │", stdout), stdout
    mirrored = sorted(p.name for p in machine_b.rglob("*") if p.is_file())
    assert mirrored == [".reelcat-mirror.json", "catalog.duckdb"]
    remote_con = open_catalog(next(machine_b.rglob("catalog.duckdb")).parent, url)
    assert _catalogue_of(remote_con) == _catalogue_of(local)
    # the same rows and scores (to 1e-4: the model's threaded float sums are not bitwise
    # the same run to run, in the 5th decimal now and then)
    remote_scores, local_scores = _scores(remote_con), _scores(local)
    assert remote_scores.keys() == local_scores.keys()
    assert all(abs(remote_scores[k] - v) < 1e-4 for k, v in local_scores.items())
    summaries = (  # (error rows name the file where it is: the bucket or the folder)
        "SELECT video_id, status, about, top_tags FROM video_summaries "
        "WHERE status != 'error' ORDER BY video_id"
    )
    assert remote_con.execute(summaries).fetchall() == local.execute(summaries).fetchall()
    # it reads nothing outside the bucket prefix
    with pytest.raises(duckdb.PermissionException):
        remote_con.execute(f"SELECT * FROM read_parquet('{local_out}/manifest.parquet')")

    # machine c reruns: pulls the folder, decodes nothing, re-uploads no frames
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "machine-c"))
    decodes = ffmpeg_calls()
    code, _, stderr = run_cli("run", "--archive", s3_archive, "--out", url)
    assert code == 0, stderr[-3000:]
    assert ffmpeg_calls() == decodes
    again = _objects(aws_env, "team/catalogue")
    frames_before = {k: v for k, v in published.items() if k.startswith("frames/")}
    assert {k: v for k, v in again.items() if k.startswith("frames/")} == frames_before

    # machine d serves the review page from the bucket: an answer given there is in the
    # bucket as soon as the page has it
    import json
    import threading
    import urllib.request

    from reelcat.storage.mirror import Mirror
    from reelcat.web.app import make_server

    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "machine-d"))
    cfg = tiny_config(s3_archive, url)
    Mirror(url, cfg.output_dir).pull()  # what `reelcat serve --out s3://…` does first
    srv = make_server(cfg)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with urllib.request.urlopen(srv.url + "/", timeout=30) as page:
            assert "testsrc.mp4" in page.read().decode()
        vid = (
            store(cfg.output_dir)
            .execute("SELECT video_id FROM manifest WHERE path LIKE '%/testsrc.mp4'")
            .fetchone()[0]
        )
        answer = {"video_id": vid, "tag": "fire", "verdict": "no", "scope": "video"}
        request = urllib.request.Request(
            srv.url + "/api/answer",
            data=json.dumps({**answer, "source": "button"}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Origin": srv.url,
                "X-Reelcat-Token": srv.csrf_token,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200
    finally:
        srv.shutdown()
        srv.server_close()
    answers = [k for k in _objects(aws_env, "team/catalogue") if k.startswith("feedback/verdicts/")]
    assert len([k for k in answers if not k.endswith(GENESIS)]) == 1


def test_mirrors_move_what_changed_and_the_sensor_lists_the_bucket(aws_env, tmp_path, monkeypatch):
    """Two machines' mirrors of one output: an answer recorded on one reaches the bucket
    with its push (and starts a re-score there: the sensor lists the bucket), the other's
    pull brings it, a push moves only changed files, and a file removed on one leaves the
    bucket and then the other mirror."""
    import dagster as dg

    from assets.resources import ReelcatSettings
    from orchestration.definitions import defs
    from orchestration.jobs import OUTPUT_TAG
    from reelcat.feedback.verdicts import Verdict, append
    from reelcat.storage.mirror import Mirror

    client = _client(aws_env)
    if OUTPUT_BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=OUTPUT_BUCKET)
    url = f"s3://{OUTPUT_BUCKET}/answers/out"
    monkeypatch.setenv("REELCAT_MIRROR_DIR", str(tmp_path / "a"))
    settings = ReelcatSettings(output_dir=url)
    cfg = settings.load()
    mirror = tmp_path / "a" / OUTPUT_BUCKET / "answers" / "out"
    assert (cfg.output_url, cfg.output_dir) == (url, mirror)
    a = Mirror(url, cfg.output_dir)
    b = Mirror(url, tmp_path / "b")
    sensor = defs.resolve_sensor_def("verdict_sensor")
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources={"settings": settings}) as ctx,
    ):
        assert isinstance(sensor(ctx), dg.SkipReason)
        append(Layout(cfg.output_dir), [Verdict("frame", "v1", 2.0, 2.0, "fire", "no")])
        (written,) = [
            p for p in Layout(cfg.output_dir).verdicts_dir.glob("*.parquet") if p.name != GENESIS
        ]
        assert isinstance(sensor(ctx), dg.SkipReason)  # not published yet
        assert a.push() == 1  # the verdict file
        result = sensor(ctx)
        assert isinstance(result, dg.RunRequest) and result.tags[OUTPUT_TAG] == url
    assert a.push() == 0  # nothing changed since
    assert b.pull() == 1
    relative = Path(written).relative_to(cfg.output_dir)
    assert (b.local / relative).read_bytes() == Path(written).read_bytes()
    assert b.pull() == 0

    Path(written).unlink()
    assert a.push() == 0
    assert f"answers/out/{relative.as_posix()}" not in _objects(aws_env, "answers/out")
    b.pull()
    assert not (b.local / relative).exists()
