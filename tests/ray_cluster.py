"""A throwaway two-node Ray cluster on loopback for tests: prints its address, then
waits until stdin closes and shuts both nodes down.

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
finally:
    cluster.shutdown()
