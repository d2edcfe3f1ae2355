"""Streaming S3 output: a multipart upload of parts >= 5 MiB (one put for small outputs),
optionally gzipped on the fly; abort() leaves nothing behind. A part uploads on a thread while
the next one fills (one in flight at most, so memory stays bounded)."""

from __future__ import annotations

import contextlib
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

PART_SIZE = 8 << 20
"""S3's minimum part is 5 MiB (except the last); 8 MiB keeps the part count low."""
GZIP_LEVEL = 1
"""Fast compression: the output is written once and read once."""


class S3Writer:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        gzipped: bool,
        content_type: str,
        part_size: int = PART_SIZE,
    ) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self._content_type = content_type
        self._part_size = part_size
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._uploader: ThreadPoolExecutor | None = None
        self._in_flight: Future[dict[str, Any]] | None = None
        self._compressor = (
            zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzipped else None
        )
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self.bytes_written += len(data)
        if self._compressor is not None:
            data = self._compressor.compress(data)
        self._buffer += data
        if len(self._buffer) >= self._part_size:
            self._upload_part()

    def close(self) -> None:
        """Finish the object (complete the upload, or one put when it stayed small)."""
        if self._compressor is not None:
            self._buffer += self._compressor.flush()
            self._compressor = None
        if self._upload_id is None:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=bytes(self._buffer),
                ContentType=self._content_type,
            )
            self._buffer.clear()
            return
        try:
            if self._buffer:
                self._upload_part()
            self._finish_part()
        finally:
            self._stop_uploader()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._upload_id = None

    def abort(self) -> None:
        """Drop what was uploaded so far (best effort: the bucket's lifecycle rule is the net)."""
        upload_id, self._upload_id = self._upload_id, None
        self._buffer.clear()
        with contextlib.suppress(Exception):
            self._finish_part()
        self._stop_uploader()
        if upload_id is not None:
            # best effort: the original failure is the one to report
            with contextlib.suppress(Exception):
                self._s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id
                )

    def _upload_part(self) -> None:
        if self._upload_id is None:
            response = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self._content_type
            )
            self._upload_id = str(response["UploadId"])
            self._uploader = ThreadPoolExecutor(1, thread_name_prefix="batch-upload")
        body = bytes(self._buffer)
        self._buffer.clear()
        self._finish_part()
        assert self._uploader is not None
        number = len(self._parts) + 1
        self._in_flight = self._uploader.submit(self._put_part, self._upload_id, number, body)

    def _put_part(self, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        response = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"ETag": response["ETag"], "PartNumber": number}

    def _finish_part(self) -> None:
        """Wait for the part in flight (its error is raised here)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            self._parts.append(in_flight.result())

    def _stop_uploader(self) -> None:
        if self._uploader is not None:
            self._uploader.shutdown()
            self._uploader = None
