"""Response models of import jobs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

Mode = Literal["all_or_nothing", "skip_invalid"]
Status = Literal["queued", "validating", "importing", "completed", "failed"]


class Progress(BaseModel):
    """How many rows the job read, accepted, refused, wrote, and found already up to date."""

    rows_read: int
    rows_valid: int
    rows_rejected: int
    rows_imported: int
    rows_unchanged: int


class ImportJobOut(BaseModel):
    """An import job: `error_report_url` is set when rows were refused."""

    id: uuid.UUID
    kind: str
    status: Status
    mode: Mode
    effective_date: date
    file_name: str | None
    file_format: str
    encoding: str | None
    columns: list[str]
    progress: Progress
    error_report_url: str | None
    detail: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
