"""A throwaway two-node Ray cluster on loopback for tests: prints its address, waits
until stdin closes, prints how many drivers (jobs) other than itself connected, and
shuts both nodes down.

Ray's own multi-node-on-one-machine utility; `ray start` would bind the machine's
network address rather than loopback.
"""

import sys

from ray.cluster_utils import Cluster

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
print(cluster.address, flush=True)
try:
    sys.stdin.read()
    import ray

    ray.init(address=cluster.address, log_to_driver=False)
    print(len(ray._private.state.jobs()) - 1, flush=True)
    ray.shutdown()
finally:
    cluster.shutdown()
