"""Dagster resources: reelcat's configuration and the Ray connection (assets and the
orchestration both import them from here).

`ReelcatSettings` reads `reelcat.yaml` (or $REELCAT_CONFIG) and applies the fields set
here, so any of them can be changed in the launchpad for one run. `RayResource`
connects Ray during the run it serves (lazily, so a run with nothing new to decode
starts no Ray) and shuts it down in its teardown hook; never at import. Embedded on this
machine by default, or the cluster named by `address`, RAY_ADDRESS or `ray.address`; to a
cluster it ships the reelcat package itself (Ray's runtime_env `py_modules`), so workers
need reelcat's dependencies but not reelcat.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from reelcat.config import Config, load_config
from reelcat.storage.remote import absolute_root


class ReelcatSettings(dg.ConfigurableResource):
    """reelcat.yaml plus per-run overrides (leave a field empty to keep the file's value)."""

    config_file: str | None = Field(None, description="path to reelcat.yaml")
    archive_roots: list[str] = Field(default_factory=list, description="folders to scan")
    output_dir: str | None = Field(None, description="where Parquet and DuckDB go")
    vocabulary: str | None = Field(None, description="vocabulary YAML file")
    sampling_mode: str | None = Field(None, description="auto, interval, keyframes or scene")
    interval_seconds: float | None = Field(None, description="one frame every N seconds")
    model_name: str | None = Field(None, description="open_clip model name")
    model_pretrained: str | None = Field(None, description="open_clip tag or checkpoint path")
    model_config_file: str | None = Field(None, description="open_clip config JSON")
    random_weights: bool | None = Field(None, description="benchmarks only: random init")
    accept_missing_roots: bool | None = Field(
        None, description="a root that held videos is gone for good: let them leave"
    )
    _lock: Any = PrivateAttr(None)
    _mirror: Any = PrivateAttr(None)

    def load(self) -> Config:
        overrides: dict[str, Any] = {
            "archive_roots": [absolute_root(p) for p in self.archive_roots] or None,
            "output_dir": absolute_root(self.output_dir) if self.output_dir else None,
            "vocabulary": os.path.abspath(self.vocabulary) if self.vocabulary else None,
            "accept_missing_roots": self.accept_missing_roots,
            "sampling": {"mode": self.sampling_mode, "interval_seconds": self.interval_seconds},
            "model": {
                "name": self.model_name,
                "pretrained": self.model_pretrained,
                "config_file": self.model_config_file,
                "random_weights": self.random_weights,
            },
        }
        return load_config(self.config_file, overrides=overrides)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In a run, hold the output folder's lock (reelcat.storage.lock) until the run's
        teardown: a second run on the same folder waits for this one. An output in object
        storage is pulled into this machine's mirror first, and published in the teardown
        (reelcat.storage.mirror), whether the run succeeded or not: what it wrote stays."""
        from reelcat.storage.lock import OutputLock
        from reelcat.storage.mirror import Mirror

        run = context.run
        if run is None:  # a sensor or schedule evaluating: it writes nothing
            return

        def say(message: str) -> None:
            if context.log:
                context.log.warning(message)
            print(message, file=sys.stderr, flush=True)

        cfg = self.load()
        self._lock = OutputLock(cfg.output_dir, f"run {run.run_id[:8]}")
        self._lock.acquire(say)
        if cfg.output_url:
            self._mirror = Mirror(cfg.output_url, cfg.output_dir)
            try:
                self._mirror.pull()
            except BaseException:
                self._mirror = None
                self._lock.release()
                raise

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            if self._mirror is not None:
                self._mirror.push()
        finally:
            if self._lock is not None:
                self._lock.release()


# What the reelcat package sent to a cluster leaves out (gitignore patterns, relative to
# the package folder): bytecode, and the bundled model's checkpoint (7.9 MB of the
# package's 8.6), which reaches the actors through the object store like any checkpoint.
SHIPPED_PACKAGE_EXCLUDES = ["__pycache__/", "*.pyc", "*.pyo", "models/*.pt"]


class RayResource(dg.ConfigurableResource):
    """A Ray connection for the run: embedded locally, or an existing cluster."""

    address: str | None = Field(
        None, description="ray://host:10001 or host:6379; empty uses RAY_ADDRESS, else local"
    )
    num_cpus: int | None = Field(None, description="local Ray only: CPUs to use")
    ship_code: bool = Field(
        True,
        description="existing cluster: send this reelcat package to the workers (Ray "
        "runtime_env py_modules); off when every worker has the same reelcat installed",
    )
    _started: bool = PrivateAttr(False)

    def runtime_env(self) -> dict[str, Any] | None:
        """The runtime_env a cluster connection asks for: this process's reelcat package
        (the folder it was imported from: a checkout or site-packages alike) as a
        py_module, without bytecode and checkpoints; under 1 MB zipped. None when
        `ship_code` is off, or under `ray job submit`, whose runtime_env is in charge."""
        if not self.ship_code or os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):
            return None
        import reelcat

        return {
            "py_modules": [os.path.dirname(os.path.abspath(reelcat.__file__))],
            "excludes": list(SHIPPED_PACKAGE_EXCLUDES),
        }

    def resolve_address(self, configured: str | None = None) -> str | None:
        """This resource's address, else RAY_ADDRESS, else reelcat.yaml's `ray.address`
        (passed in as `configured`); None: a fresh embedded Ray."""
        return self.address or os.environ.get("RAY_ADDRESS") or configured or None

    def connect(self, configured: str | None = None) -> None:
        """Connect once per run, on first need: a run with nothing to embed starts no Ray."""
        import ray

        if ray.is_initialized():
            return
        # Ray's own logger at ERROR: its notices (a new local cluster's "Token
        # authentication is enabled…", "Started a local Ray instance") are not the run's
        # output; its errors still show. Workers' output stays on the cluster.
        kwargs: dict[str, Any] = {
            "log_to_driver": False,
            "configure_logging": True,
            "logging_level": logging.ERROR,
        }
        address = self.resolve_address(configured)
        if address is None:
            # "local": always a fresh embedded Ray, never a cluster someone else left
            # running on this machine (which a bare ray.init() would join).
            address = "local"
            kwargs.update(include_dashboard=False, num_cpus=self.num_cpus)
        else:  # a cluster: its workers get this reelcat, whatever they have installed
            kwargs["runtime_env"] = self.runtime_env()
        ray.init(address=address, **kwargs)
        self._started = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
