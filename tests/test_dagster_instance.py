"""A production Dagster (issue 18): the instance files in deploy/, a run queue that admits
one catalogue run per output folder, and `reelcat run` recorded in DAGSTER_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import dagster as dg
import pytest
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.runs import SqliteRunStorage

from orchestration.jobs import OUTPUT_TAG, output_tag

from .conftest import REPO, run_cli
from .postgres_server import postgres_server

DEPLOY = REPO / "deploy"
ONE_RUN_PER_FOLDER = [{"key": OUTPUT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
PG_VARS = ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    """A DAGSTER_HOME set up as `make dagster` does: deploy/dagster.local.yaml, SQLite."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.local.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def any_dagster_home(request, tmp_path, monkeypatch):
    """DAGSTER_HOME as on a laptop (`make dagster`: SQLite) and as in a shared deployment
    (deploy/dagster.yaml: a real PostgreSQL server, its port the only line changed)."""
    if request.param == "sqlite":
        return request.getfixturevalue("dagster_home")
    server = request.getfixturevalue("postgres")
    home = tmp_path / "dagster_home"
    home.mkdir()
    text = (DEPLOY / "dagster.yaml").read_text()
    assert text.count("port: 5432") == 1
    (home / "dagster.yaml").write_text(text.replace("port: 5432", f"port: {server.port}"))
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_the_local_instance_queues_one_run_per_output_folder(dagster_home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)  # zero setup
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        assert coordinator.get_run_queue_config().tag_concurrency_limits == ONE_RUN_PER_FOLDER
        # what the daemon's dequeue loop reads (run_queue merged with any `concurrency:`)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.tag_concurrency_limits == ONE_RUN_PER_FOLDER
        assert queue.max_concurrent_runs >= 2  # other folders still run side by side
        assert instance.run_monitoring_enabled  # a dead run does not hold its folder for ever


def test_the_production_template_is_postgres_with_the_same_queue(monkeypatch):
    """deploy/dagster.yaml validates as instance config and names dagster-postgres for
    all three storages; its Postgres block validates (with the connection from the
    environment). A real server: test_reelcat_run_is_recorded_and_holds_the_queue_for_its_folder."""
    config, _ = dagster_instance_config(str(DEPLOY), "dagster.yaml")
    local, _ = dagster_instance_config(str(DEPLOY), "dagster.local.yaml")
    for key in ("run_queue", "run_monitoring"):
        assert config[key] == local[key], key
    assert "storage" not in local  # SQLite in DAGSTER_HOME

    ref = InstanceRef.from_dir(str(DEPLOY), config_filename="dagster.yaml")
    for data in (ref.run_storage_data, ref.event_storage_data, ref.schedule_storage_data):
        assert data.module_name.startswith("dagster_postgres"), data
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"

    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.storage.config import pg_config

    postgres = config["storage"]["postgres"]
    schema = resolve_to_config_type(pg_config())
    for var in PG_VARS:
        monkeypatch.delenv(var, raising=False)
    unset = process_config(schema, postgres)
    assert not unset.success
    said = "\n".join(e.message for e in unset.errors)
    assert all(var in said for var in PG_VARS), said  # no password in the file
    for var in PG_VARS:
        monkeypatch.setenv(var, var.lower())
    valid = process_config(schema, postgres)
    assert valid.success, valid.errors
    db = valid.value["postgres_db"]
    assert {k: db[k] for k in ("hostname", "username", "password", "db_name", "port")} == {
        "hostname": "dagster_pg_host",
        "username": "dagster_pg_user",
        "password": "dagster_pg_password",
        "db_name": "dagster_pg_db",
        "port": 5432,
    }


def test_reelcat_run_refuses_a_dagster_home_that_does_not_load(
    small_archive, tmp_path, monkeypatch
):
    """A DAGSTER_HOME that does not load is one line and exit 2, before anything runs."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "no-such-home"))
    out = tmp_path / "out"
    code, _, stderr = run_cli("run", "--archive", str(small_archive), "--out", str(out))
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith(f"reelcat: DAGSTER_HOME={tmp_path / 'no-such-home'}: ")
    assert not (out / "manifest.parquet").exists()


def _launch(output_dir, env: dict) -> subprocess.Popen:
    """`dagster job launch` of rescore_from_verdicts, as an operator submits a run by hand:
    through the instance's run coordinator (the queue; no daemon runs here, so it stays
    queued), with the code location of workspace.yaml pointed at `output_dir`."""
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "job", "launch", "-w", "workspace.yaml"]
        + ["-j", "rescore_from_verdicts"],
        cwd=REPO,
        env={**env, "REELCAT_OUTPUT_DIR": str(output_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _dequeued(instance) -> list[str]:
    """The queued runs the daemon's run queue would launch now (its own decision code,
    in-process: it reads the instance's queue config and the runs in progress)."""
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
        QueuedRunCoordinatorDaemon,
    )

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    runs = daemon._get_runs_to_dequeue(  # noqa: SLF001 (no public "what would you launch")
        instance, instance.get_concurrency_config(), fixed_iteration_time=None
    )
    return [run.run_id for run in runs]


@pytest.mark.slow
def test_reelcat_run_is_recorded_and_holds_the_queue_for_its_folder(
    small_archive, any_dagster_home, tmp_path
):
    """`reelcat run` with DAGSTER_HOME set records its run, tagged with the output folder,
    in that instance. While it is in progress a run submitted by hand for the same folder
    waits in the queue, and one for another folder does not; the first may go once the
    `reelcat run` has ended. The run itself first waits on the folder's lock (held here
    by the test), the last line of defence."""
    from reelcat.storage.lock import OutputLock

    out, other = tmp_path / "out", tmp_path / "other"
    tag = output_tag(out)
    lock = OutputLock(out, "the test")
    lock.acquire()
    done: list[tuple[int, str, str]] = []
    cli = threading.Thread(
        target=lambda: done.append(
            run_cli("run", "--archive", str(small_archive), "--out", str(out))
        )
    )
    cli.start()
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 240
            started = []
            while not started:
                assert cli.is_alive(), done
                assert time.monotonic() < deadline, "reelcat run never started a Dagster run"
                time.sleep(0.2)
                started = instance.get_runs(
                    dg.RunsFilter(tags=tag, statuses=[dg.DagsterRunStatus.STARTED])
                )
            (cli_run,) = started
            launches = [_launch(folder, dict(os.environ)) for folder in (out, other)]
            for launch in launches:
                said, _ = launch.communicate(timeout=240)
                assert launch.returncode == 0, said
            queued = {
                run.tags[OUTPUT_TAG]: run.run_id
                for run in instance.get_runs(
                    dg.RunsFilter(
                        job_name="rescore_from_verdicts", statuses=[dg.DagsterRunStatus.QUEUED]
                    )
                )
            }
            assert set(queued) == {str(out.resolve()), str(other.resolve())}
            same, elsewhere = queued[str(out.resolve())], queued[str(other.resolve())]
            assert _dequeued(instance) == [elsewhere]  # `out` is being written
    finally:
        lock.release()
    cli.join(timeout=600)
    ((code, stdout, stderr),) = done
    assert code == 0, stdout + stderr
    assert "is being written by" in stderr and "(the test); waiting" in stderr

    with dg.DagsterInstance.get() as instance:
        storage = type(instance.run_storage).__name__
        postgres = (any_dagster_home / "dagster.yaml").read_text().count("postgres:") > 0
        assert storage == ("PostgresRunStorage" if postgres else "SqliteRunStorage")
        run = instance.get_run_by_id(cli_run.run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[OUTPUT_TAG] == str(out.resolve())
        # its materialisations are in the instance's event log too (the UI shows them)
        catalog = instance.get_latest_materialization_event(dg.AssetKey("catalog"))
        assert catalog is not None and catalog.run_id == cli_run.run_id
        assert sorted(_dequeued(instance)) == sorted([same, elsewhere])
