"""A throwaway multi-node Ray cluster on loopback for tests: prints its address, then
answers commands read from stdin, one a line, until stdin closes; then prints how many
drivers (jobs) other than itself connected and how often the CLIP actor (Embedder) was
restarted, and shuts every node down.

    python tests/ray_cluster.py [--head-cpus 1] [--workers 1] [--worker-cpus 1]

Commands (each answered with one line):
- `kill-embedder-node`: wait until an Embedder actor is placed on a worker node, then
  kill that node's processes (SIGKILL, as when a machine is lost): "killed <state>".
- `add-worker`: start one more worker node: "added".

Node loss is noticed within about two seconds (Ray's health checks, shortened here).
Ray's own multi-node-on-one-machine utility; `ray start` would bind the machine's
network address rather than loopback.
"""

import argparse
import sys
import time

from ray.cluster_utils import Cluster

parser = argparse.ArgumentParser()
parser.add_argument("--head-cpus", type=int, default=1)
parser.add_argument("--workers", type=int, default=1)
parser.add_argument("--worker-cpus", type=int, default=1)
args = parser.parse_args()

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
            cluster.wait_for_nodes()
            print("added", flush=True)
        elif command:
            print(f"unknown command {command!r}", flush=True)
    import ray

    ray.init(address=cluster.address, log_to_driver=False)
    print(len(ray._private.state.jobs()) - 1, flush=True)
    print(max((a["NumRestarts"] for a in embedders()), default=0), flush=True)
    ray.shutdown()
finally:
    cluster.shutdown()
