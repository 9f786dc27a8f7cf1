"""S3-compatible object storage (AWS S3, MinIO, Ceph, moto...). boto3 is imported only here.

Clients get presigned, expiring GET URLs straight to the bucket, and the Leonardo init-image flow
gets a real presigned POST, so media bytes never pass through the API nodes.
"""

from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from reelforge.config import Settings


class S3Blobs:
    def __init__(self, client, bucket: str, prefix: str, url_ttl: int):
        self.client, self.bucket, self.prefix, self.url_ttl = client, bucket, prefix, url_ttl

    @classmethod
    def from_settings(cls, location: str, settings: Settings) -> "S3Blobs":
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError("storage_url s3://bucket/prefix needs a bucket")
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3}, connect_timeout=5),
        )
        return cls(client, bucket, prefix.strip("/"), settings.media_url_ttl)

    def _key(self, key: str) -> str:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad storage key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self.client.upload_file(
            str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )
        path.unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        full = self._key(prefix.rstrip("/")) + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            objects = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    def url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=self.url_ttl
        )

    def verify_url(self, key: str, expires: str | None, signature: str | None) -> bool:
        """The URLs this store hands out are the bucket's, never reelforge's `/media` ones."""
        return False

    def local_path(self, key: str) -> None:
        self._key(key)  # refuse a bad key the same way whatever the store
        return None

    def presigned_post(self, key: str, content_type: str, max_bytes: int) -> tuple[str, dict]:
        """A browser-style upload form straight to the bucket, size-capped by the policy."""
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=self._key(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=self.url_ttl,
        )
        return post["url"], post["fields"]
