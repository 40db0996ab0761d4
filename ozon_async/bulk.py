"""Public types of bulk writes, task waiters and downloads.

``client.<group>.<method>.bulk(items)`` returns a :class:`BulkResult` of :class:`ItemOutcome`;
``.and_wait(...)`` returns a :class:`TaskResult`; ``client.download(url)`` fetches files.
"""

from ozon_async._bulk import BulkError, BulkResult, ItemError, ItemOutcome, ItemStatus
from ozon_async._download import (
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_DOWNLOAD_SIZE,
    DEFAULT_MAX_FILE_BYTES,
    MAX_REDIRECTS,
    DownloadRedirectError,
    DownloadTooLargeError,
    Progress,
)
from ozon_async._tasks import TaskError, TaskFailedError, TaskResult, TaskTimeoutError

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_BYTES",
    "DEFAULT_MAX_DOWNLOAD_SIZE",
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_REDIRECTS",
    "BulkError",
    "BulkResult",
    "DownloadRedirectError",
    "DownloadTooLargeError",
    "ItemError",
    "ItemOutcome",
    "ItemStatus",
    "Progress",
    "TaskError",
    "TaskFailedError",
    "TaskResult",
    "TaskTimeoutError",
]
