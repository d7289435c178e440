"""Import jobs: check and stage a file in the request, merge it later in one transaction.

The request reads the file (streamed to a temporary file, parsed in a worker thread), checks
every row with the API's own rules, and COPYs the valid rows into `import_rows` with the job —
so the job survives a restart and any replica can merge it. A background worker claims queued
jobs with FOR UPDATE SKIP LOCKED and merges each in ONE transaction: all valid rows land or,
on any failure, none. Never commits (the request boundary and the worker's transaction do).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.clock import business_today, start_of_business_day, utc_now
from customer_svc.config import Settings
from customer_svc.customers.search_terms import search_terms
from customer_svc.imports import parsing, repository
from customer_svc.imports.models import ImportJob
from customer_svc.imports.schemas import ImportJobOut, Progress
from retailcare_shared.auth import Principal
from retailcare_shared.problems import InvalidInput, NotFound

IMPORTERS = ("supervisor",)  # and admin (require_roles always admits admin)
NAME_FIELDS = ("name", "address", "owner_name")


def _problem(error: parsing.FileProblem) -> InvalidInput:
    return InvalidInput(error.field, error.rule, error.message)


def _rows_of(file: IO[bytes], file_format: str, encoding: str | None) -> Iterator[list[str]]:
    if file_format == "xlsx":
        return parsing.xlsx_rows(file)
    assert encoding is not None
    return parsing.csv_rows(file, encoding)


def _with_search_terms(batch: list[tuple[int, dict[str, Any]]]) -> None:
    for _, data in batch:
        data["search_terms"] = search_terms(
            data["name"], data.get("address"), data.get("owner_name")
        )


async def create_job(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    *,
    kind: str,
    mode: str,
    effective_date: date | None,
    file: IO[bytes],
    file_name: str | None,
) -> ImportJob:
    """Check a file and stage its valid rows; 422 (nothing written) if the file is unusable."""
    today = business_today()
    effective = effective_date or today
    if effective > today:
        raise InvalidInput("effective_date", "not_in_future", "an import cannot take effect later")
    head = await anyio.to_thread.run_sync(file.read, 8)
    file_format = parsing.detect_format(head)
    try:
        encoding = (
            None
            if file_format == "xlsx"
            else await anyio.to_thread.run_sync(parsing.detect_encoding, file)
        )
        limit = settings.import_max_rows
        count = await anyio.to_thread.run_sync(
            lambda: parsing.count_rows(_rows_of(file, file_format, encoding), limit)
        )
        if count > limit:
            raise parsing.FileProblem(
                "file", "too_many_rows", f"a file may hold at most {limit} rows; split it"
            )
        rows = _rows_of(file, file_format, encoding)
        header = await anyio.to_thread.run_sync(next, rows, None)
        if header is None:
            raise parsing.FileProblem("file", "empty", "the file is empty")
        columns = parsing.map_header(kind, header)
        if count == 0:
            raise parsing.FileProblem("file", "empty", "the file holds no rows under its header")
    except parsing.FileProblem as error:
        raise _problem(error) from None
    scope = principal.county if principal.county and not principal.is_admin else None
    managers = (
        await repository.managers_by_employee_no(session)
        if kind in ("shops", "assignments")
        else {}
    )
    now = utc_now()
    job = ImportJob(
        id=uuid.uuid4(),
        kind=kind,
        status="validating",
        mode=mode,
        effective_date=effective,
        file_name=(file_name or "")[:300] or None,
        file_format=file_format,
        encoding=encoding,
        columns=sorted(name for name in columns if name is not None),
        created_by=principal.sub,
        county_scope=scope,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    timeout = settings.import_statement_timeout_seconds
    checked = parsing.Checked()
    batches = parsing.check_rows(
        kind,
        columns,
        rows,
        parsing.Context(scope, managers, today),
        checked,
        settings.import_batch_rows,
    )

    def next_batch() -> list[tuple[int, dict[str, Any]]] | None:
        batch = next(batches, None)
        if batch is not None and kind == "shops":
            _with_search_terms(batch)
        return batch

    try:
        while (batch := await anyio.to_thread.run_sync(next_batch)) is not None:
            await repository.stage_rows(session, job.id, batch, timeout)
    except parsing.FileProblem as error:
        raise _problem(error) from None
    refused = await repository.refuse_staged(session, job.id, kind, scope, timeout)
    await repository.stage_errors(
        session, job.id, checked.errors[: settings.import_max_errors], timeout
    )
    rejected = len(checked.rejected_rows | refused)
    job.rows_read = checked.rows_read
    job.rows_valid = checked.rows_valid - len(refused)
    job.rows_rejected = rejected
    if rejected and mode == "all_or_nothing":
        await repository.drop_staged(session, job.id)
        job.status, job.finished_at = "failed", now
        job.detail = f"{rejected} rows refused; nothing was imported (mode=all_or_nothing)"
    elif job.rows_valid == 0:
        job.status, job.finished_at = "completed", now
        job.detail = "no valid rows"
    else:
        job.status = "queued"
    return job


async def visible_job(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    """A job its caller may see (their own, their county's, or any for admin); else 404."""
    job = await repository.visible_job(session, principal, job_id)
    if job is None:
        raise NotFound(f"import {job_id} does not exist")
    return job


def job_out(job: ImportJob, *, claimed: bool = False) -> ImportJobOut:
    """The API form of a job; a queued job a worker holds is reported as importing."""
    status = "importing" if claimed and job.status == "queued" else job.status
    return ImportJobOut(
        id=job.id,
        kind=job.kind,
        status=status,
        mode=job.mode,
        effective_date=job.effective_date,
        file_name=job.file_name,
        file_format=job.file_format,
        encoding=job.encoding,
        columns=list(job.columns),
        progress=Progress(
            rows_read=job.rows_read,
            rows_valid=job.rows_valid,
            rows_rejected=job.rows_rejected,
            rows_imported=job.rows_imported,
            rows_unchanged=job.rows_unchanged,
        ),
        error_report_url=f"/api/v1/imports/{job.id}/errors" if job.rows_rejected else None,
        detail=job.detail,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


async def merge(session: AsyncSession, job: ImportJob, settings: Settings) -> None:
    """Write a claimed job's staged rows, their history and their events; mark it completed."""
    timeout = settings.import_statement_timeout_seconds
    job.started_at = utc_now()
    valid_from = start_of_business_day(job.effective_date)
    reason = f"bulk import {job.id}" + (f" ({job.file_name})" if job.file_name else "")
    if job.kind == "shops":
        present = {"manager_id" if c == "manager_employee_no" else c for c in job.columns}
        written = await repository.merge_shops(
            session, job.id, present, valid_from, timeout, search_terms=True
        )
        if present & set(NAME_FIELDS) and not present >= set(NAME_FIELDS):
            await _refresh_search_terms(session, timeout)
        await repository.write_history_and_events(
            session, job.created_by, None, job.effective_date, reason, timeout
        )
    elif job.kind == "assignments":
        moved = await repository.merge_assignments(
            session, repository.STAGED_ASSIGNMENTS, valid_from, job.id, timeout=timeout
        )
        written = len(moved)
        await repository.write_history_and_events(
            session, job.created_by, None, job.effective_date, reason, timeout
        )
    elif job.kind == "orders":
        written = await repository.merge_orders(session, job.id, job.created_by, timeout)
    else:
        written = await repository.merge_managers(session, job.id, job.created_by, timeout)
    await repository.drop_staged(session, job.id)
    job.rows_imported = written
    job.rows_unchanged = job.rows_valid - written
    job.status = "completed"
    job.finished_at = utc_now()


async def _refresh_search_terms(session: AsyncSession, timeout: float) -> None:
    """Updated shops whose file named only some of name/address/owner: terms from the result."""
    rows = await repository.merged_rows(session, "updated")
    if rows:
        await repository.set_search_terms(
            session,
            [row["id"] for row in rows],
            [
                _array_literal(search_terms(row["name"], row["address"], row["owner_name"]))
                for row in rows
            ],
            timeout,
        )


def _array_literal(terms: list[str]) -> str:
    quoted = ('"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"' for term in terms)
    return "{" + ",".join(quoted) + "}"
