"""Public types of bulk writes, task waiters and downloads.

``client.<group>.<method>.bulk(items)`` returns a :class:`BulkResult` of :class:`ItemOutcome`;
``.and_wait(...)`` returns a :class:`TaskResult`; ``client.download(url)`` fetches files.
"""

from ozon_async._bulk import BulkError, BulkResult, ItemError, ItemOutcome, ItemStatus
from ozon_async._download import DEFAULT_MAX_DOWNLOAD_SIZE, DownloadTooLargeError, Progress
from ozon_async._tasks import TaskError, TaskFailedError, TaskResult, TaskTimeoutError

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_SIZE",
    "BulkError",
    "BulkResult",
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
