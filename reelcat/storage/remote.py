"""Archive files and outputs in object storage: `s3://bucket/key` and `gs://bucket/key`
paths beside local ones.

An archive root or an output may be an S3 URL (`s3://bucket/prefix`, AWS or any
S3-compatible server) or a Google Cloud Storage URL (`gs://bucket/prefix`). The
connection comes from each store's standard environment:
- S3: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) for a server other than AWS,
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or the AWS config
  files), AWS_REGION (or AWS_DEFAULT_REGION).
- GCS: Google's application default credentials (GOOGLE_APPLICATION_CREDENTIALS, a
  VM's service account, or `gcloud auth application-default login`);
  STORAGE_EMULATOR_HOST for an emulator (then requests are not authenticated).

- Listing, stat, reads and writes go through one filesystem abstraction, pyarrow's
  (S3FileSystem or GcsFileSystem; reads are ranged GETs: an object is never read whole).
- ffprobe and ffmpeg read an object through a signed HTTP(S) GET URL (`readable`: S3's
  presigned URL, GCS's V4 signed URL), made when the process starts and never stored:
  ffmpeg's HTTP reader seeks with range requests, so it fetches only what it decodes.
  Messages from ffmpeg are passed through `redact` so that no signature reaches a
  manifest row, an error table or a log.

Local paths are left to the callers' own (os, pathlib) code: `is_url` tells them apart.
The incremental scan keys local files on inodes and walks folders with os.walk, which a
filesystem abstraction does not give.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

SCHEMES = ("s3", "gs")  # the object stores an archive root or an output may be in
PRESIGN_SECONDS = 6 * 3600  # a signed URL outlives the longest ffmpeg run on it
GCS_ENDPOINT = "https://storage.googleapis.com"

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SIGNED_QUERY = re.compile(r"(https?://[^\s'\"?]+)\?[^\s'\"]*X-(?:Amz|Goog)-[^\s'\"]*")


class RemoteUnavailable(OSError):
    """An archive root in object storage that cannot be listed: `state` is 'missing' (no
    such bucket) or 'unreadable' (denied, unreachable, any other failure)."""

    def __init__(self, url: str, state: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.state = state


@dataclass(frozen=True)
class ObjectInfo:
    path: str  # s3://bucket/key or gs://bucket/key
    size: int
    mtime_ns: int  # the object's Last-Modified (whole seconds)


def is_url(path: Any) -> bool:
    """Whether `path` is a URL (`scheme://…`) rather than a local path."""
    return isinstance(path, str) and _URL.match(path) is not None


def scheme(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else ""


def split_roots(text: str) -> list[str]:
    """Roots separated by os.pathsep, never cutting a URL's `://`
    ("s3://b/x:/data" is ["s3://b/x", "/data"])."""
    sep = re.escape(os.pathsep)
    return [p for p in re.split(rf"{sep}(?!//)", text) if p]


def absolute_root(path: str) -> str:
    """A root as the configuration keeps it: a URL as given, a local path made absolute."""
    return path if is_url(path) else os.path.abspath(path)


def parent(path: str) -> str:
    """The folder a path or URL is in."""
    return path.rsplit("/", 1)[0] if is_url(path) else os.path.dirname(path)


def bucket_key(url: str) -> tuple[str, str]:
    if scheme(url) not in SCHEMES:
        raise ValueError(f"{url}: only {', '.join(s + '://' for s in SCHEMES)} URLs are supported")
    rest = _URL.sub("", url, count=1)
    bucket, _, key = rest.partition("/")
    return bucket, key.strip("/")


def _environment() -> tuple[str | None, str | None]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return endpoint or None, region or None


def filesystem(url: str):
    """pyarrow's filesystem for the store `url` is in, as the current environment
    configures it (one per store and environment)."""
    if scheme(url) == "gs":
        return _gcs_filesystem(os.environ.get("STORAGE_EMULATOR_HOST") or None)
    bucket_key(url)  # an unsupported scheme says so
    return _s3_filesystem(*_environment(), os.environ.get("AWS_ACCESS_KEY_ID"))


@lru_cache(maxsize=4)
def _s3_filesystem(endpoint: str | None, region: str | None, _key_id: str | None):
    from pyarrow import fs

    return fs.S3FileSystem(endpoint_override=endpoint, region=region)


@lru_cache(maxsize=4)
def _gcs_filesystem(emulator: str | None):
    from pyarrow import fs

    if emulator is None:  # the application default credentials
        return fs.GcsFileSystem()
    server = emulator if "://" in emulator else f"http://{emulator}"
    scheme_, _, address = server.partition("://")
    return fs.GcsFileSystem(anonymous=True, scheme=scheme_, endpoint_override=address)


@lru_cache(maxsize=4)
def _s3_client(endpoint: str | None, region: str | None, _key_id: str | None):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(signature_version="s3v4"),
    )


def fs_path(url: str) -> str:
    bucket, key = bucket_key(url)
    return f"{bucket}/{key}" if key else bucket


def _url_of(fs_path: str, like: str) -> str:
    return f"{scheme(like)}://{fs_path}"


def fsspec_filesystem(url: str):
    """The same filesystem as an fsspec one (for DuckDB's `register_filesystem`: it then
    reads `s3://` paths itself, with ranged GETs; its httpfs extension is not needed)."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    class ObjectStore(ArrowFSWrapper):
        protocol = scheme(url)

    return ObjectStore(filesystem(url))


def stat(url: str) -> ObjectInfo | None:
    """The object at `url`, or None when there is none (OSError when it cannot be asked)."""
    from pyarrow import fs

    info = filesystem(url).get_file_info(fs_path(url))
    if info.type != fs.FileType.File:
        return None
    return ObjectInfo(url, int(info.size), int(info.mtime_ns or 0))


def list_objects(root: str) -> list[ObjectInfo]:
    """Every object under `root` (a prefix, or one object), with size and mtime;
    RemoteUnavailable when the bucket is missing or cannot be listed."""
    from pyarrow import fs

    base = fs_path(root)
    filesystem_ = filesystem(root)
    try:
        if "/" in base:  # a root that names one object
            info = filesystem_.get_file_info(base)
            if info.type == fs.FileType.File:
                return [ObjectInfo(root, int(info.size), int(info.mtime_ns or 0))]
        infos = filesystem_.get_file_info(
            fs.FileSelector(base, recursive=True, allow_not_found=True)
        )
        bucket = base.split("/", 1)[0]
        if not infos and filesystem_.get_file_info(bucket).type == fs.FileType.NotFound:
            raise OSError(f"NO_SUCH_BUCKET: bucket {bucket} does not exist")
    except OSError as exc:
        text = str(exc)
        state = "missing" if "NO_SUCH_BUCKET" in text or "does not exist" in text else "unreadable"
        raise RemoteUnavailable(root, state, text.splitlines()[0] if text else state) from None
    return [
        ObjectInfo(_url_of(i.path, root), int(i.size), int(i.mtime_ns or 0))
        for i in infos
        if i.type == fs.FileType.File
    ]


def open_object(url: str):
    """The object for random access (pyarrow NativeFile: `size()`, `read_at(n, offset)`),
    each read one ranged GET."""
    return filesystem(url).open_input_file(fs_path(url))


def readable(path: str) -> str:
    """What ffmpeg and ffprobe open for an archive path: a local path as it is; an
    object's signed HTTP(S) GET URL, made now (valid PRESIGN_SECONDS; never store it)."""
    if not is_url(path):
        return path
    bucket, key = bucket_key(path)
    if scheme(path) == "gs":
        return _gcs_signed_url(bucket, key)
    client = _s3_client(*_environment(), os.environ.get("AWS_ACCESS_KEY_ID"))
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS
    )


def _gcs_signed_url(bucket: str, key: str) -> str:
    """A V4 signed URL (google-cloud-storage), signed with the application default
    credentials: a service account's key signs here; a VM's service account signs
    through IAM with its token; credentials that cannot sign (a person's login) say so."""
    client = _gcs_client(
        os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"), os.environ.get("STORAGE_EMULATOR_HOST")
    )
    credentials, extra = client._credentials, {}
    if not _can_sign(credentials):
        import google.auth.transport.requests

        if not credentials.valid:
            credentials.refresh(google.auth.transport.requests.Request())
        extra = {
            "service_account_email": credentials.service_account_email,
            "access_token": credentials.token,
        }
    return (
        client.bucket(bucket)
        .blob(key)
        .generate_signed_url(
            version="v4", expiration=timedelta(seconds=PRESIGN_SECONDS), method="GET", **extra
        )
    )


@lru_cache(maxsize=4)
def _gcs_client(_credentials_file: str | None, _emulator: str | None):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    try:
        credentials, project = google.auth.default()
    except DefaultCredentialsError as exc:
        raise OSError(f"no Google credentials to sign gs:// URLs for ffmpeg: {exc}") from None
    if not _can_sign(credentials) and not hasattr(credentials, "service_account_email"):
        raise OSError(
            "ffmpeg reads gs:// objects through signed URLs, and these Google credentials "
            "cannot sign: use a service account (GOOGLE_APPLICATION_CREDENTIALS, or a VM's)"
        )
    return storage.Client(project=project or "reelcat", credentials=credentials)


def _can_sign(credentials) -> bool:
    from google.auth.credentials import Signing

    return isinstance(credentials, Signing)


def redact(text: str, source: str | None = None, path: str | None = None) -> str:
    """`text` (ffmpeg's words) with the presigned `source` named as `path`, and any other
    presigned URL without its signature."""
    if source and path and source != path:
        text = text.replace(source, path)
    return _SIGNED_QUERY.sub(r"\1", text)
