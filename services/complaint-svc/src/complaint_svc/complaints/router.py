"""Complaint endpoints: intake, reads, lifecycle actions, timeline, case analysis."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Select, select

from complaint_svc.complaints import repository, service
from complaint_svc.complaints.access import (
    EXPORT_COLUMNS,
    EXPORT_SELECT,
    HANDLERS,
    READERS,
    export_row,
    scoped,
    sees_personal_data,
    shape,
)
from complaint_svc.complaints.catalogue import ServiceItem
from complaint_svc.complaints.exceptions import ComplaintNotFound
from complaint_svc.complaints.lifecycle import Status
from complaint_svc.complaints.models import Complaint, TimelineEntry
from complaint_svc.complaints.schemas import (
    AssignIn,
    AttachCustomerIn,
    CaseAnalysisIn,
    CaseAnalysisOut,
    CategoryOut,
    CloseIn,
    ComplaintIn,
    ComplaintOut,
    EscalateIn,
    NoteIn,
    ReopenIn,
    ResolveIn,
    StartIn,
    TimelineOut,
)
from complaint_svc.context import ComplaintContext, request_context
from retailcare_shared.auth import Principal, require_roles
from retailcare_shared.db import DbConnection, DbSession, get_database
from retailcare_shared.exports import EXPORT_RESPONSES, ExportFormat, Table, download, streamed
from retailcare_shared.http import Page, PageParams, check_if_match, etag, keyset_page, make_page
from retailcare_shared.http import page_params as read_page_params
from retailcare_shared.idempotency import Answer, IdempotencyKey
from retailcare_shared.problems import InvalidInput

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Handler = Annotated[Principal, Depends(require_roles(*HANDLERS))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Intake = Annotated[Principal, Depends(require_roles("call_center"))]
Context = Annotated[ComplaintContext, Depends(request_context)]


async def _load(
    session: DbSession, principal: Principal, complaint_id: uuid.UUID, *, lock: bool
) -> Complaint:
    statement = scoped(select(Complaint).where(Complaint.id == complaint_id), principal)
    if lock:
        statement = statement.with_for_update(of=Complaint)
    complaint: Complaint | None = await session.scalar(statement)
    if complaint is None:
        raise ComplaintNotFound(complaint_id)
    return complaint


async def readable_complaint(
    complaint_id: uuid.UUID, session: DbSession, principal: Reader
) -> Complaint:
    """Load-or-404 with the caller's scope (another manager's complaint is a 404)."""
    return await _load(session, principal, complaint_id, lock=False)


async def handled_complaint(
    complaint_id: uuid.UUID,
    session: DbSession,
    principal: Handler,
    if_match: Annotated[str | None, Header()] = None,
) -> Complaint:
    """Load-or-404 for a write, row locked; an If-Match, when sent, must match."""
    return await _load_for_write(session, principal, complaint_id, if_match)


async def _load_for_write(
    session: DbSession, principal: Principal, complaint_id: uuid.UUID, if_match: str | None
) -> Complaint:
    complaint = await _load(session, principal, complaint_id, lock=True)
    if if_match is not None:
        check_if_match(if_match, complaint.version)
    return complaint


Readable = Annotated[Complaint, Depends(readable_complaint)]
Handled = Annotated[Complaint, Depends(handled_complaint)]


def _respond(complaint: Complaint, principal: Principal, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        shape(complaint, principal),
        status_code=status_code,
        headers={"ETag": etag(complaint.version)},
    )


@router.post("", status_code=201, response_model=ComplaintOut)
async def file_complaint(
    request: Request,
    body: ComplaintIn,
    connection: DbConnection,
    key: IdempotencyKey,
    principal: Intake,
    context: Context,
) -> Response:
    """Take a complaint (call centre); retries with the same Idempotency-Key replay the answer."""

    def answer_for(complaint: Complaint) -> Answer:
        return Answer(
            shape(complaint, principal),
            status_code=201,
            headers={
                "ETag": etag(complaint.version),
                "Location": f"/api/v1/complaints/{complaint.id}",
            },
        )

    answer = await service.file_complaint(
        connection, context, body, principal.sub, key, answer_for, filer_county=principal.county
    )
    get_database(request).outbox_committed()
    return answer.response()


@router.get("/categories", response_model=Page[CategoryOut])
async def categories(principal: Reader, context: Context) -> Page[CategoryOut]:
    """The category catalogue, whole: a configured handful, so one page (`next_cursor` null)."""
    return Page(
        items=[
            CategoryOut(code=code, group=group, label=label)
            for code, (group, label) in context.catalogue.items()
        ]
    )


@dataclass(frozen=True)
class ListFilters:
    """The filters of the complaint list and its export (query parameters)."""

    customer_id: uuid.UUID | None = None
    status: Status | None = None
    category: Annotated[str | None, Query(max_length=64)] = None
    service_item: ServiceItem | None = None
    assignee: Annotated[str | None, Query(max_length=100)] = None
    received_by: Annotated[str | None, Query(max_length=100)] = None
    overdue: bool | None = None
    from_date: Annotated[date | None, Query(alias="from")] = None
    to_date: Annotated[date | None, Query(alias="to")] = None
    county: Annotated[str | None, Query(max_length=100)] = None
    district: Annotated[str | None, Query(max_length=100)] = None

    def __post_init__(self) -> None:
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise InvalidInput("from", "before_to", "must not be after `to`")

    def query(self, principal: Principal, *columns: Any) -> Select[Any]:
        """The caller's complaints that pass the filters (whole, or just `columns`)."""
        statement = select(*columns) if columns else select(Complaint)
        return repository.filtered(scoped(statement, principal), **asdict(self))


Filters = Annotated[ListFilters, Depends()]


@router.get("", response_model=Page[ComplaintOut])
async def list_complaints(
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(read_page_params)],
    filters: Filters,
) -> Page[Any]:
    """Search complaints (newest first), within the caller's scope."""
    statement = keyset_page(filters.query(principal), [Complaint.seq], params, descending=True)
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.seq,), shape=lambda row: shape(row, principal))


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
)
async def export_complaints(
    request: Request,
    principal: Reader,
    filters: Filters,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
) -> StreamingResponse:
    """Every complaint of the list's filters (newest first) as a CSV or XLSX download."""
    masked = not sees_personal_data(principal)
    # Plain columns, not ORM objects: a download reads each row once, as the export shows it.
    statement = filters.query(principal, *EXPORT_SELECT).order_by(Complaint.seq.desc())
    rows = streamed(get_database(request), statement, lambda row: export_row(row, masked))
    return download(Table("complaints", EXPORT_COLUMNS, rows), export_format)


@router.get("/by-ref/{ref}", response_model=ComplaintOut)
async def by_ref(
    ref: Annotated[str, Path(max_length=32)], session: DbSession, principal: Reader
) -> Response:
    """A complaint by its human reference (for phone conversations)."""
    complaint = await session.scalar(
        scoped(select(Complaint).where(Complaint.ref == ref), principal)
    )
    if complaint is None:
        raise ComplaintNotFound(ref)
    return _respond(complaint, principal)


@router.get("/{complaint_id}", response_model=ComplaintOut)
async def get_complaint(complaint: Readable, principal: Reader) -> Response:
    """One complaint (ETag = version)."""
    return _respond(complaint, principal)


@router.get("/{complaint_id}/timeline", response_model=Page[TimelineOut])
async def get_timeline(
    complaint: Readable,
    session: DbSession,
    params: Annotated[PageParams, Depends(read_page_params)],
) -> Page[Any]:
    """Every action on the complaint with actor, time and note, oldest first."""
    statement = keyset_page(repository.timeline(complaint.id), [TimelineEntry.id], params)
    rows = (await session.scalars(statement)).all()
    return make_page(rows, params, lambda row: (row.id,))


@router.post("/{complaint_id}/assign", response_model=ComplaintOut)
async def assign(
    body: AssignIn, complaint: Handled, session: DbSession, principal: Handler, context: Context
) -> Response:
    """Assign, or hand over (note required)."""
    await service.assign(
        session, context, complaint, assignee=body.assignee, note=body.note, actor=principal.sub
    )
    return _respond(complaint, principal)


@router.post("/{complaint_id}/start", response_model=ComplaintOut)
async def start(
    complaint: Handled, session: DbSession, principal: Handler, body: StartIn | None = None
) -> Response:
    """Start working on an assigned complaint."""
    await service.start(session, complaint, note=body.note if body else None, actor=principal.sub)
    return _respond(complaint, principal)


@router.post("/{complaint_id}/resolve", response_model=ComplaintOut)
async def resolve(
    body: ResolveIn, complaint: Handled, session: DbSession, principal: Handler, context: Context
) -> Response:
    """Resolve with resolution and root cause."""
    await service.resolve(
        session,
        context,
        complaint,
        resolution=body.resolution,
        root_cause=body.root_cause,
        actor=principal.sub,
    )
    return _respond(complaint, principal)


@router.post("/{complaint_id}/close", response_model=ComplaintOut)
async def close(
    body: CloseIn, complaint: Handled, session: DbSession, principal: Handler, context: Context
) -> Response:
    """Close a resolved complaint with the callback's verdict."""
    await service.close(
        session, context, complaint, callback_satisfied=body.callback_satisfied, actor=principal.sub
    )
    return _respond(complaint, principal)


@router.post("/{complaint_id}/reopen", response_model=ComplaintOut)
async def reopen(
    body: ReopenIn, complaint: Handled, session: DbSession, principal: Handler, context: Context
) -> Response:
    """Reopen (records a repeat complaint; header Repeat-Complaint-Id names it)."""
    repeat = await service.reopen(
        session, context, complaint, reason=body.reason, actor=principal.sub
    )
    response = _respond(complaint, principal)
    response.headers["Repeat-Complaint-Id"] = str(repeat.id)
    return response


@router.post("/{complaint_id}/customer", response_model=ComplaintOut)
async def attach_customer(
    body: AttachCustomerIn,
    complaint: Handled,
    session: DbSession,
    principal: Handler,
    context: Context,
) -> Response:
    """Name the shop of a complaint filed without one (409 when it already names one)."""
    await service.attach_customer(
        session,
        context,
        complaint,
        customer_id=body.customer_id,
        note=body.note,
        actor=principal.sub,
        scope_county=None if principal.is_admin else principal.county,
    )
    return _respond(complaint, principal)


@router.post("/{complaint_id}/escalate", response_model=ComplaintOut)
async def escalate(
    body: EscalateIn,
    complaint_id: uuid.UUID,
    session: DbSession,
    principal: Supervisor,
    context: Context,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A supervisor escalates an open complaint to a named person (complaint.escalated)."""
    complaint = await _load_for_write(session, principal, complaint_id, if_match)
    await service.escalate(
        session,
        context,
        complaint,
        escalated_to=body.escalated_to,
        note=body.note,
        actor=principal.sub,
    )
    return _respond(complaint, principal)


@router.post("/{complaint_id}/notes", status_code=201, response_model=ComplaintOut)
async def add_note(
    body: NoteIn, complaint: Handled, session: DbSession, principal: Handler
) -> Response:
    """Add a note to the timeline."""
    await service.add_note(session, complaint, text=body.text, actor=principal.sub)
    return _respond(complaint, principal, status_code=201)


@router.put("/{complaint_id}/case-analysis", response_model=CaseAnalysisOut)
async def put_case_analysis(
    body: CaseAnalysisIn,
    complaint_id: uuid.UUID,
    session: DbSession,
    principal: Supervisor,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Create or replace the case analysis (replacing needs If-Match)."""
    complaint = await _load(session, principal, complaint_id, lock=True)
    existing = await repository.get_case_analysis(session, complaint.id)
    if existing is not None:
        check_if_match(if_match, existing.version)
    created = existing is None
    analysis = await service.save_case_analysis(
        session, complaint, body, existing=existing, actor=principal.sub
    )
    return JSONResponse(
        jsonable_encoder(CaseAnalysisOut.model_validate(analysis)),
        status_code=201 if created else 200,
        headers={"ETag": etag(analysis.version)},
    )


@router.get("/{complaint_id}/case-analysis", response_model=CaseAnalysisOut)
async def get_case_analysis(
    complaint_id: uuid.UUID, session: DbSession, principal: Reader
) -> Response:
    """The case analysis of a complaint."""
    complaint = await _load(session, principal, complaint_id, lock=False)
    analysis = await repository.get_case_analysis(session, complaint.id, lock=False)
    if analysis is None:
        raise ComplaintNotFound(f"{complaint_id} case analysis")
    return JSONResponse(
        jsonable_encoder(CaseAnalysisOut.model_validate(analysis)),
        headers={"ETag": etag(analysis.version)},
    )
