"""A throwaway multi-node Ray cluster on loopback for tests: prints its address, then
answers commands read from stdin, one a line, until stdin closes; then prints how many
drivers (jobs) other than itself connected and how often the CLIP actor (Embedder) was
restarted, and shuts every node down.

    python tests/ray_cluster.py [--head-cpus 1] [--workers 1] [--worker-cpus 1]
                                [--bare-workers 0] [--worker-env NAME=VALUE ...]

Bare workers are worker nodes as on a machine that has never seen reelcat: each in its
own process, started from an empty folder with a clean environment (no PYTHONPATH, no
REELCAT_ variables, a trace cache of its own; only the variables given by
`--worker-env NAME=VALUE`, repeated, are added) by a Python that has reelcat's
dependencies but not reelcat (a venv whose site-packages names this venv's
site-packages in a .pth file, so reelcat's editable install, itself a .pth file there,
never runs). That process (`--join ADDRESS`) starts its node as `ray start --address`
does (`ray start` itself refuses to join a cluster on loopback), and stops it when its
stdin closes. Nothing on such a node can `import reelcat` unless a driver ships it.

Commands (each answered with one line):
- `kill-embedder-node`: wait until an Embedder actor is placed on a worker node, then
  kill that node's processes (SIGKILL, as when a machine is lost): "killed <state>".
- `add-worker`: start one more worker node: "added".

Node loss is noticed within about two seconds (Ray's health checks, shortened here).
The head and the other workers come from Ray's own multi-node-on-one-machine utility;
`ray start` would bind the machine's network address rather than loopback.
`kill-embedder-node` kills only those other workers, not bare ones.
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from ray.cluster_utils import Cluster

parser = argparse.ArgumentParser()
parser.add_argument("--head-cpus", type=int, default=1)
parser.add_argument("--workers", type=int, default=1)
parser.add_argument("--worker-cpus", type=int, default=1)
parser.add_argument("--bare-workers", type=int, default=0)
parser.add_argument(
    "--worker-env",
    action="append",
    default=[],
    metavar="NAME=VALUE",
    help="a variable in every bare worker's environment (repeat for more)",
)
parser.add_argument("--join", metavar="ADDRESS", help="be one bare worker of that cluster")
args = parser.parse_args()


def join(address: str) -> None:
    """This process holds one worker node of the cluster at `address`, started as
    `ray start --address` and Cluster.add_node start one, until stdin closes."""
    from ray._private.node import Node
    from ray._private.parameter import RayParams

    params = RayParams(
        gcs_address=address,
        num_cpus=args.worker_cpus,
        num_gpus=0,
        object_store_memory=150 * 1024 * 1024,
        min_worker_port=0,
        max_worker_port=0,
        node_manager_port=0,
        include_log_monitor=False,
    )
    params.dashboard_agent_listen_port = None  # any free port: the head has the default
    node = Node(params, head=False, shutdown_at_exit=True, spawn_reaper=True)
    print("joined", flush=True)
    sys.stdin.read()
    node.kill_all_processes(check_alive=False, allow_graceful=True)


if args.join:
    join(args.join)
    sys.exit(0)

HEALTH_CHECKS = {  # a dead node is declared dead after about 1.5 s, not Ray's 15 s or more
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
cluster = Cluster(
    initialize_head=True,
    head_node_args={
        "num_cpus": args.head_cpus,
        "include_dashboard": False,
        "_system_config": HEALTH_CHECKS,
    },
)
for _ in range(args.workers):
    cluster.add_node(num_cpus=args.worker_cpus)
cluster.wait_for_nodes()


def bare_python(folder: Path) -> str:
    """A Python with this one's packages but not reelcat (see the module's doc)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(os.path.realpath(sys.executable))
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(base)
    (folder / "pyvenv.cfg").write_text(
        f"home = {base.parent}\ninclude-system-site-packages = false\n"
        f"version = {'.'.join(map(str, sys.version_info[:3]))}\n"
    )
    site = folder / "lib" / version / "site-packages"
    site.mkdir(parents=True)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return str(folder / "bin" / "python")


def start_bare_worker(python: str, folder: Path) -> subprocess.Popen:
    folder.mkdir()
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if k in keep or (k.startswith("RAY_") and k != "RAY_ADDRESS")
    }
    env.update(item.split("=", 1) for item in args.worker_env)
    env["REELCAT_CACHE"] = str(folder / "cache")  # its own: the actor builds the model
    with open(folder / "node.log", "w") as log:
        proc = subprocess.Popen(
            [
                python,
                os.path.abspath(__file__),
                "--join",
                cluster.address,
                "--worker-cpus",
                str(args.worker_cpus),
            ],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    if proc.stdout.readline().strip() != "joined":
        proc.wait()
        raise RuntimeError(f"a bare worker did not start: {(folder / 'node.log').read_text()}")
    return proc


def wait_for_alive_nodes(count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(cluster.global_state._live_node_ids()) != count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} nodes expected, not up in {timeout:g} s")
        time.sleep(0.2)


def stop_bare_workers() -> None:
    for proc in bare:  # its stdin closed: the process stops its node's processes
        proc.stdin.close()
    for proc in bare:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()  # its reaper stops the node's processes
            proc.wait()
    shutil.rmtree(bare_root, ignore_errors=True)


bare: list[subprocess.Popen] = []
bare_root = Path(tempfile.mkdtemp(prefix="reelcat-bare-nodes-"))
try:
    if args.bare_workers:
        python = bare_python(bare_root / "venv")
        for i in range(args.bare_workers):
            bare.append(start_bare_worker(python, bare_root / f"node{i}"))
        wait_for_alive_nodes(1 + args.workers + args.bare_workers)
except BaseException:
    stop_bare_workers()
    cluster.shutdown()
    raise
print(cluster.address, flush=True)


def embedders() -> list[dict]:
    table = cluster.global_state.actor_table(None)
    return [a for a in table.values() if a["ActorClassName"] == "Embedder"]


def kill_embedder_node() -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = {n.node_id: n for n in cluster.worker_nodes}
        for actor in embedders():
            node = workers.get(actor["Address"]["NodeID"])
            if node is not None and actor["State"] in ("PENDING_CREATION", "ALIVE"):
                cluster.remove_node(node, allow_graceful=False)
                return f"killed {actor['State']}"
        time.sleep(0.05)
    return "no embedder on a worker node"


try:
    for line in sys.stdin:
        command = line.strip()
        if command == "kill-embedder-node":
            print(kill_embedder_node(), flush=True)
        elif command == "add-worker":
            cluster.add_node(num_cpus=args.worker_cpus)
            wait_for_alive_nodes(len(cluster.list_all_nodes()) + len(bare))
            print("added", flush=True)
        elif command:
            print(f"unknown command {command!r}", flush=True)
    import ray

    ray.init(address=cluster.address, log_to_driver=False)
    print(len(ray._private.state.jobs()) - 1, flush=True)
    print(max((a["NumRestarts"] for a in embedders()), default=0), flush=True)
    ray.shutdown()
finally:
    stop_bare_workers()
    cluster.shutdown()
