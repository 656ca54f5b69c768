"""The lake in S3-compatible object storage (AWS S3, MinIO, moto's server ...), through boto3.

Same layout as the local lake: s3://<bucket>/<prefix>/<table>/season=<year>.parquet (or data.parquet).
A PUT makes an object visible whole or not at all, so each file write is atomic without a temporary
name; a table write then deletes the table's objects it did not rewrite (idempotent re-runs, as on disk),
and raises naming any object S3 did not delete (DeleteObjects reports them in its answer, not as an error).
Two writes of one table must not overlap: each one's deletion of the objects it did not write would
delete the other's, and the table could be left with none. The local lake makes them take turns under a
file lock; an S3 lake takes none (its writers may run on several hosts, where a lock file on one host
would protect nothing), so run the writers of a table one at a time.
Credentials come from the standard AWS chain (environment, ~/.aws, instance role), never from the
config file; the endpoint of a non-AWS service from the storage settings (bsi_pipeline.config).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import polars as pl

from bsi_pipeline.lake import concat_parts, partitions


def _boto3_client(endpoint_url: str | None):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url or None)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix without surrounding slashes) of an s3://bucket[/prefix] URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket[/prefix] URI: {uri!r}")
    return parsed.netloc, parsed.path.strip("/")


@dataclass
class S3Lake:
    """A lake under s3://bucket/prefix. `client` is a boto3 S3 client; if None it is made on first use by
    `client_factory(endpoint_url)` (in the pipeline: dagster-aws's S3Resource, with its retries and
    AWS options), else by plain boto3."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    client: Any = field(default=None, compare=False, repr=False)
    client_factory: Callable[[str | None], Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_uri(cls, uri: str, endpoint_url: str | None = None, client: Any = None,
                 client_factory: Callable[[str | None], Any] | None = None) -> S3Lake:
        bucket, prefix = parse_s3_uri(uri)
        return cls(bucket, prefix, endpoint_url, client, client_factory)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def s3(self):
        if self.client is None:  # made on first use, so settings load without boto3 work
            self.client = (self.client_factory or _boto3_client)(self.endpoint_url)
        return self.client

    def _folder(self, name: str) -> str:
        return f"{self.prefix}/{name}/" if self.prefix else f"{name}/"

    def location(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._folder(name)}"

    def _parquet_under(self, prefix: str):
        """(key, the key's path below prefix split on "/") of every Parquet object under prefix."""
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".parquet"):
                    yield obj["Key"], obj["Key"][len(prefix):].split("/")

    def keys(self, name: str) -> list[str]:
        """The table's Parquet object keys, sorted."""
        return sorted(key for key, parts in self._parquet_under(self._folder(name)) if len(parts) == 1)

    def has_table(self, name: str) -> bool:
        return bool(self.keys(name))

    def table_names(self) -> list[str]:
        """Every table with at least one Parquet object, sorted."""
        root = f"{self.prefix}/" if self.prefix else ""
        return sorted({parts[0] for _, parts in self._parquet_under(root) if len(parts) == 2})

    def write_table(self, name: str, df: pl.DataFrame) -> list[str]:
        """Every partition is serialized before the first PUT, so a write that fails on the data leaves the
        previous table whole. S3 has no rename: a failure between two PUTs (the network) leaves some
        partitions new, until the next write of the table replaces them all."""
        bodies = []
        for file_name, part in partitions(df):
            buffer = io.BytesIO()
            part.write_parquet(buffer, compression="zstd", statistics=True)
            bodies.append((self._folder(name) + file_name, buffer.getvalue()))
        for key, body in bodies:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        written = [key for key, _ in bodies]
        kept = set(written)
        stale = [k for k in self.keys(name) if k not in kept]
        failed = []
        for start in range(0, len(stale), 1000):  # DeleteObjects takes at most 1,000 keys
            failed += self.s3.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in stale[start:start + 1000]], "Quiet": True}).get("Errors", [])
        if failed:  # S3 reports a key it did not delete in its answer, not with an exception
            keys = "; ".join(f"s3://{self.bucket}/{e['Key']} ({e.get('Code')}: {e.get('Message')})" for e in failed)
            raise OSError(f"table {name!r}: S3 did not delete the stale partition(s) {keys}; the table holds their "
                          "rows as well as the new ones until a write of it can delete them")
        return [f"s3://{self.bucket}/{k}" for k in written]

    def read_table(self, name: str) -> pl.DataFrame:
        parts = [pl.read_parquet(io.BytesIO(self.s3.get_object(Bucket=self.bucket, Key=k)["Body"].read()))
                 for k in self.keys(name)]
        return concat_parts(name, parts, self.location(name))
