"""Bulk import: upload a file (202 with the job), follow the job, download its refused rows."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import IO, Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from customer_svc.imports import repository, service
from customer_svc.imports.models import ImportJob
from customer_svc.imports.parsing import ERROR_COLUMNS, Kind
from customer_svc.imports.schemas import ImportJobOut, Mode, Status
from customer_svc.imports.worker import wake
from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbSession
from retailcare_shared.exports import (
    EXPORT_RESPONSES,
    ExportFormat,
    Table,
    batched,
    download,
)
from retailcare_shared.http import Page, PageParams, keyset_page, make_page, page_params
from retailcare_shared.problems import InvalidInput

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
UPLOAD_PATH = "/api/v1/imports"
Importer = Annotated[Principal, Depends(require_roles(*service.IMPORTERS))]
# Kept in memory up to 1 MiB, then spilled to a temporary file.
SPOOL_BYTES = 1 << 20


@contextlib.asynccontextmanager
async def received_file(request: Request) -> AsyncIterator[tuple[IO[bytes], str | None]]:
    """The uploaded file (multipart field `file`, or the raw body), spooled to disk."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("file", "missing", "send the file in the multipart field file")
            yield upload.file, upload.filename
        return
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(spool.write, chunk)
        if spool.tell() == 0:
            raise InvalidInput("file", "missing", "the request body holds no file")
        spool.seek(0)
        yield spool, request.headers.get("x-file-name")
    finally:
        spool.close()


@router.post(
    "",
    status_code=202,
    response_model=ImportJobOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            }
        }
    },
)
async def upload(
    request: Request,
    session: DbSession,
    user: Importer,
    background: BackgroundTasks,
    kind: Annotated[Kind, Query()],
    effective_date: Annotated[date | None, Query()] = None,
    mode: Annotated[Mode, Query()] = "all_or_nothing",
) -> ImportJobOut:
    """Upload a CSV or XLSX file; its rows are checked now and merged in the background."""
    async with received_file(request) as (file, file_name):
        job = await service.create_job(
            session,
            user,
            request.app.state.settings,
            kind=kind,
            mode=mode,
            effective_date=effective_date,
            file=file,
            file_name=file_name,
        )
    # After the response (and so after the commit): this replica's worker starts at once.
    background.add_task(wake, request.app)
    return service.job_out(job)


@router.get("", response_model=Page[ImportJobOut])
async def list_jobs(
    session: DbSession,
    user: Importer,
    params: Annotated[PageParams, Depends(page_params)],
    kind: Kind | None = None,
    status: Status | None = None,
) -> Page[Any]:
    """The caller's visible jobs, newest first (status as stored: a claimed job shows `queued`
    here and `importing` on its own read)."""
    statement = repository.jobs_visible_to(user)
    if kind is not None:
        statement = statement.where(ImportJob.kind == kind)
    if status is not None:
        statement = statement.where(ImportJob.status == status)
    keys = [ImportJob.created_at, ImportJob.id]
    rows = (await session.scalars(keyset_page(statement, keys, params, descending=True))).all()
    return make_page(rows, params, lambda job: (job.created_at, job.id), shape=service.job_out)


@router.get("/{job_id}", response_model=ImportJobOut)
async def get_job(job_id: uuid.UUID, session: DbSession, user: Importer) -> ImportJobOut:
    """A job's status and progress."""
    job = await service.visible_job(session, user, job_id)
    claimed = job.status == "queued" and await repository.job_is_claimed(session, job_id)
    return service.job_out(job, claimed=claimed)


@router.get("/{job_id}/errors", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def get_errors(
    job_id: uuid.UUID,
    session: DbSession,
    user: Importer,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
) -> StreamingResponse:
    """The refused rows (row, field, rule, message) as a CSV (default) or XLSX download."""
    await service.visible_job(session, user, job_id)
    errors = await repository.errors_of(session, job_id)
    table = Table(f"import-{job_id}-errors", ERROR_COLUMNS, batched(errors))
    return download(table, export_format)
