"""A Google Cloud Storage server for tests: gcp-storage-emulator (PyPI), in memory, on
127.0.0.1 and a free port, in a process of its own (pyarrow's GCS client keeps the GIL
while it waits for a reply, so a server thread in the test's process would never answer).

    python tests/gcs_server.py BUCKET...   # prints the server's URL, serves until killed

One change to the emulator, made here: its HTTP server answers one request at a time,
and GCS clients keep a download's response open while they ask for a range of the same
object on a second connection (pyarrow's GcsFileSystem does), so it would wait on itself.
Here it serves each connection in a thread; requests that change the store still run one
at a time (the emulator's store is not written for concurrent writers).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager
from http import server as http_server


@contextmanager
def gcs_server(*buckets: str):
    """Yields the URL of a server with `buckets` made (what STORAGE_EMULATOR_HOST names)."""
    proc = subprocess.Popen([sys.executable, __file__, *buckets], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the GCS emulator did not start (exit {proc.wait(10)})")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def serve(buckets: list[str]) -> None:
    from gcp_storage_emulator import server as emulator
    from gcp_storage_emulator.handlers import buckets as bucket_handlers

    writes = threading.Lock()

    def one_writer(method):
        def run(self):
            with writes:
                method(self)

        return run

    class Handler(emulator.RequestHandler):
        do_POST = one_writer(emulator.RequestHandler.do_POST)
        do_PUT = one_writer(emulator.RequestHandler.do_PUT)
        do_PATCH = one_writer(emulator.RequestHandler.do_PATCH)
        do_DELETE = one_writer(emulator.RequestHandler.do_DELETE)

    storage = emulator.Storage(use_memory_fs=True)
    for name in buckets:
        bucket_handlers.create_bucket(name, storage)
    httpd = http_server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *args: Handler(storage, *args))
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    print(f"http://{host}:{port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1:])
