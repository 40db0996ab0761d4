"""The FBS label flow of October 2026 end to end on the sandbox: /v3/posting/fbs/package-label/create
starts one task per label size, /v2/posting/fbs/package-label/get reports each, and the finished
tasks link to real PDF files. Time is the sandbox's manual clock, advanced by the waiter's pauses."""

from __future__ import annotations

import warnings

import pytest

from ozon_async import OPERATIONS, RequestValidationError
from ozon_async.bulk import TaskError, TaskFailedError, TaskResult, TaskTimeoutError
from ozon_async.types.posting import PostingFbsPackageLabelGetV2Response
from tests._sandbox_env import SandboxEnv, sandbox_env

CREATE = "/v3/posting/fbs/package-label/create"
GET = "/v2/posting/fbs/package-label/get"


def _awaiting_deliver(env: SandboxEnv, n: int) -> list[str]:
    numbers = sorted(
        p.posting_number
        for p in env.sandbox.state.postings.values()
        if p.status == "awaiting_deliver"
    )
    assert len(numbers) >= n
    return numbers[:n]


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page ")


async def test_labels_are_created_waited_for_and_downloaded_as_pdf() -> None:
    async with sandbox_env() as env:
        numbers = _awaiting_deliver(env, 2)
        seen: list[object] = []
        result = await env.client.posting.fbs_package_label_create_v3.waiting(on_check=seen.append)(
            posting_numbers=numbers
        )
        assert isinstance(result, TaskResult)
        assert result.ok and result.state == "done" and result.error is None
        # one task per label size, each waited for until its file was ready
        assert [t.kind for t in result.tasks] == ["big_label", "small_label"]
        started = result.started
        assert started is not None and started.tasks is not None
        assert result.task_id == tuple(t.task_id for t in started.tasks)
        assert [t.task_id for t in result.tasks] == list(result.task_id)
        for task in result.tasks:
            assert task.ok and task.state == "completed"
            assert isinstance(task.status, PostingFbsPackageLabelGetV2Response)
            assert task.status.status is not None
            assert task.status.status.printed_postings_count == 2
            assert task.status.status.unprinted_postings == []
            assert task.file_url and task.file_url.startswith(env.sandbox.url + "/__files/labels/")
        # every check is counted; the first came after the spec's 2-s interval
        polls = env.sandbox.requests_for(GET)
        assert len(polls) == result.checks == len(seen) == sum(t.checks for t in result.tasks)
        assert polls[0].at - env.sandbox.requests_for(CREATE)[0].at == 2.0
        assert result.elapsed == sum(t.elapsed for t in result.tasks) <= 600
        # the files: real PDFs, one page per posting, fetched without Ozon's credentials
        big = await result.task("big_label").download()
        small = await env.client.download(result.task("small_label").file_url or "")
        assert big.startswith(b"%PDF-") and big.rstrip().endswith(b"%%EOF")
        assert small.startswith(b"%PDF-") and _pages(big) == _pages(small) == 2
        for number in numbers:
            assert number.encode() in big and number.encode() in small
        assert b"/MediaBox [0 0 283 425]" in big and b"/MediaBox [0 0 164 113]" in small
        assert len(env.file_requests) == 2
        for headers in env.file_requests:
            assert not {k.lower() for k in headers} & {"client-id", "api-key", "authorization"}
        # several files: the summary names the tasks instead of picking one
        assert result.file_url is None
        with pytest.raises(TaskError, match="2 tasks"):
            await result.download()
        with pytest.raises(TaskError, match="no 'medium_label' task"):
            result.task("medium_label")


async def test_a_label_task_moves_through_its_states_on_the_sandbox_clock() -> None:
    # done 10 s of sandbox time after it was created, however often it is asked
    async with sandbox_env(sandbox={"task_polls": None}) as env:
        (number,) = _awaiting_deliver(env, 1)
        started = await env.client.posting.fbs_package_label_create_v3(posting_numbers=[number])
        assert started.tasks is not None
        big = started.tasks[0]
        assert big.task_type == "big_label" and big.task_id

        async def code() -> str | None:
            answer = await env.client.posting.fbs_package_label_get_v2(task_id=big.task_id)
            assert answer.status is not None
            return answer.status.code

        assert await code() == "in_progress"  # asked once: under way
        env.advance(4.0)
        assert await code() == "in_progress"
        env.advance(6.0)
        assert await code() == "completed"
        # .wait(id) resumes a task started earlier and checks at once
        done = await env.client.posting.fbs_package_label_create_v3.wait(big.task_id)
        assert done.ok and done.checks == 1 and done.started is None and done.kind is None
        assert done.file_url and (await done.download()).startswith(b"%PDF")


async def test_postings_without_a_label_are_reported_and_a_task_without_any_fails() -> None:
    async with sandbox_env() as env:
        (ready,) = _awaiting_deliver(env, 1)
        packing = next(
            p.posting_number
            for p in env.sandbox.state.postings.values()
            if p.status == "awaiting_packaging"
        )
        partly = await env.client.posting.fbs_package_label_create_v3.and_wait(
            posting_numbers=[ready, packing, "0000000000-0000-1"]
        )
        assert partly.ok
        big = partly.task("big_label")
        assert big.status.status is not None
        assert big.status.status.postings_count == 3
        assert big.status.status.printed_postings_count == 1
        unprinted = {
            u.posting_number: u.message for u in big.status.status.unprinted_postings or []
        }
        assert set(unprinted) == {packing, "0000000000-0000-1"}
        assert "awaiting_packaging" in (unprinted[packing] or "")
        assert _pages(await big.download()) == 1

        failed = await env.client.posting.fbs_package_label_create_v3.and_wait(
            posting_numbers=[packing]
        )
        assert not failed.ok and failed.state == "failed"
        assert [t.state for t in failed.tasks] == ["error", "error"]
        assert failed.error == (
            "big_label: none of the postings can get a label; "
            "small_label: none of the postings can get a label"
        )
        with pytest.raises(TaskFailedError, match="big_label: none of the postings"):
            failed.raise_for_failed()
        with pytest.raises(TaskFailedError):
            await failed.task("small_label").download()


async def test_waiting_for_several_tasks_keeps_to_one_timeout() -> None:
    # done after 100 s of sandbox time (never by the number of checks): a 30-s wait ends in the
    # first task's timeout
    async with sandbox_env(sandbox={"task_polls": None, "task_seconds": 100.0}) as env:
        (number,) = _awaiting_deliver(env, 1)
        begin = env.clock.now()
        with pytest.raises(TaskTimeoutError) as info:
            await env.client.posting.fbs_package_label_create_v3.waiting(timeout=30.0)(
                posting_numbers=[number]
            )
        assert env.clock.now() - begin == pytest.approx(30.0, abs=0.05)
        task = env.sandbox.state.label_tasks[info.value.task_id]
        assert task.task_type == "big_label" and info.value.last_status is not None
        assert {r.body["task_id"] for r in env.sandbox.requests_for(GET)} == {task.task_id}
    # done at the second check: the first task ends on the deadline (checks at 20 s and 25 s),
    # and the second, with no time left, is still checked once, at once
    async with sandbox_env(sandbox={"task_polls": 2, "task_seconds": None}) as env:
        (number,) = _awaiting_deliver(env, 1)
        begin = env.clock.now()
        with pytest.raises(TaskTimeoutError) as info:
            await env.client.posting.fbs_package_label_create_v3.waiting(
                timeout=25.0, interval=20.0
            )(posting_numbers=[number])
        # (the client's rate limiter spaces two requests of one instant by 20 ms)
        assert env.clock.now() - begin == pytest.approx(25.0, abs=0.05)
        second = env.sandbox.state.label_tasks[info.value.task_id]
        assert second.task_type == "small_label" and second.polls == 1
        at = [r.at - begin for r in env.sandbox.requests_for(GET)]
        assert at == pytest.approx([20.0, 25.0, 25.0], abs=0.05)


async def test_posting_numbers_are_checked_before_anything_is_sent() -> None:
    async with sandbox_env() as env:
        with pytest.raises(RequestValidationError, match="posting_numbers"):
            await env.client.posting.fbs_package_label_create_v3(posting_numbers=[])
        with pytest.raises(RequestValidationError, match="posting_numbers"):
            await env.client.posting.fbs_package_label_create_v3(
                posting_numbers=[f"1-{i}-1" for i in range(1001)]
            )
        assert env.sandbox.requests_for(CREATE) == []


def test_one_task_id_is_refused_for_a_call_that_starts_several() -> None:
    from ozon_async._codec import decoder_for
    from ozon_async._tasks import started_tasks, task_id_of
    from ozon_async.types.posting import PostingFbsPackageLabelCreateV3Response

    op = OPERATIONS["POST /v3/posting/fbs/package-label/create"]
    decode = decoder_for(PostingFbsPackageLabelCreateV3Response).decode
    started = decode(b'{"tasks": [{"task_id": "11", "task_type": "big_label"}, {"task_id": 12}]}')
    with pytest.raises(TaskError, match="several tasks"):
        task_id_of(op, started, {})
    assert started_tasks(op, started) == [(11, "big_label"), (12, None)]
    for empty in (b'{"tasks": []}', b"{}", b'{"tasks": [{"task_type": "small_label"}]}'):
        with pytest.raises(TaskError, match=r"no task|no id"):
            started_tasks(op, decode(empty))


def test_the_switched_off_label_operations_point_to_the_new_flow() -> None:
    new = "POST /v3/posting/fbs/package-label/create"
    for key, successor in {
        "POST /v1/posting/fbs/package-label/create": new,
        "POST /v2/posting/fbs/package-label/create": new,
        "POST /v2/posting/fbs/package-label": new,
        "POST /v1/posting/fbs/package-label/get": "POST /v2/posting/fbs/package-label/get",
    }.items():
        op = OPERATIONS[key]
        assert op.deprecated and op.sunset == "2026-11-02" and op.replaced_by == successor
        assert op.sunset_note(today="2026-12-01") == "; Ozon switched it off on 2026-11-02"
    assert not OPERATIONS[new].deprecated and OPERATIONS[new].task is not None


async def test_a_switched_off_label_operation_warns_at_the_callers_line() -> None:
    """The sandbox has no notion of a switch-off day: the old operations still answer there, and
    the client warns that Ozon no longer does."""
    async with sandbox_env() as env:
        (number,) = _awaiting_deliver(env, 1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            label = await env.client.posting.fbs_package_label_v2(posting_number=[number])
        (w,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
        assert w.filename == __file__
        assert "/v3/posting/fbs/package-label/create" in str(w.message)
        assert "2026-11-02" in str(w.message)
        assert label.content.startswith(b"%PDF")
