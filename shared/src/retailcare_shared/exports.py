"""Streaming CSV and XLSX downloads of tables of any length, memory bounded by one batch.

A table is a header row and an async iterator of row batches (a server-side cursor's partitions,
typically). Each batch is encoded in a worker thread, so a long export never blocks the event
loop, and sent before the next one is read, so memory holds one batch whatever the row count.

- CSV is UTF-8 with a byte-order mark, so Excel (the tool analysts open it with) reads Chinese
  text correctly; a text cell that a spreadsheet would run as a formula (leading ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) is prefixed with ``'`` (CSV injection).
- XLSX is written directly as a zip stream (no temporary file, no whole workbook in memory):
  inline strings (never formulas), numbers, and dates and timestamps as real Excel dates. A sheet
  holds at most 1,048,575 data rows (Excel's limit); longer tables continue on further sheets.
- Timestamps are shown in company-local time (Asia/Shanghai), the time the users work in.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import IO, Any, Protocol
from urllib.parse import quote
from xml.sax.saxutils import escape

import anyio.to_thread
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, text
from sqlalchemy.engine import Row as ResultRow

from retailcare_shared.db import Database
from retailcare_shared.workdays import COMPANY_TIME_ZONE

Cell = str | int | float | bool | date | datetime | uuid.UUID | None
Row = Sequence[Cell]

EXCEL_MAX_ROWS = 1_048_576
BATCH_ROWS = 2_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 forbids these characters even escaped; a stray one would make Excel reject the file.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# OpenAPI `responses` of an export endpoint: its 200 answer's media types.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            _XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


class ExportFormat(StrEnum):
    """The download formats every export endpoint offers (`?format=`)."""

    csv = "csv"
    xlsx = "xlsx"


@dataclass(frozen=True)
class Table:
    """A named table to download: file name stem, header row and row batches."""

    name: str
    headers: Sequence[str]
    batches: AsyncIterator[Sequence[Row]]


async def batched(rows: Iterable[Row], size: int = BATCH_ROWS) -> AsyncIterator[Sequence[Row]]:
    """Batches of an in-memory table (aggregates), for `Table.batches`."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def streamed(
    database: Database,
    statement: Select[Any],
    shape: Callable[[ResultRow[Any]], Row],
    size: int = BATCH_ROWS,
) -> AsyncIterator[Sequence[Row]]:
    """A query's rows in batches from a server-side cursor, in a read-only transaction of its
    own (the request's session has ended by the time a streamed answer is sent)."""
    async with database.sessions() as session, session.begin():
        await session.execute(text("SET TRANSACTION READ ONLY"))
        result = await session.stream(statement.execution_options(yield_per=size))
        async for partition in result.partitions(size):
            yield [shape(row) for row in partition]


def local_time(moment: datetime) -> datetime:
    """A timestamp in company-local wall-clock time, without zone (as spreadsheets show it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(COMPANY_TIME_ZONE).replace(tzinfo=None, microsecond=0)


class Encoder(Protocol):
    """Turns a table into bytes: a start, one piece per batch, an end."""

    def start(self, headers: Sequence[str]) -> bytes: ...

    def rows(self, batch: Sequence[Row]) -> bytes: ...

    def finish(self) -> bytes: ...


def csv_text(value: Cell) -> str:
    """A cell as CSV text: formula-like text neutralised, timestamps local, booleans words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return local_time(value).isoformat(sep=" ")
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


class CsvEncoder:
    """UTF-8 CSV with a byte-order mark and CRLF line ends (RFC 4180)."""

    def start(self, headers: Sequence[str]) -> bytes:
        """The byte-order mark and the header line."""
        return "\ufeff".encode() + self.rows([headers])

    def rows(self, batch: Sequence[Row]) -> bytes:
        """One batch of lines."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows([csv_text(value) for value in row] for row in batch)
        return buffer.getvalue().encode()

    def finish(self) -> bytes:
        """Nothing: a CSV ends with its last line."""
        return b""


class _Sink:
    """An unseekable file that hands over what was written to it (zipfile streams into it)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes, /) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: `take` hands the bytes over."""

    def close(self) -> None:
        """Nothing to close: the bytes live in memory until taken."""

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _xml_text(value: str) -> str:
    return escape(_XML_ILLEGAL.sub("", value))


def xlsx_cell(value: Cell) -> str:
    """One `<c>` element: numbers and dates as values (dates styled), the rest inline text."""
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):  # NaN/inf: no Excel number
            return "<c/>"
        return f"<c><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        serial = (local_time(value) - _EXCEL_EPOCH).total_seconds() / 86_400
        return f'<c s="2"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c s="1"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(str(value))}</t></is></c>'


_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_PART = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


class XlsxEncoder:
    """An Office Open XML workbook written as a zip stream, sheet by sheet."""

    def __init__(self, sheet_name: str, max_rows: int = EXCEL_MAX_ROWS) -> None:
        self.sheet_name = sheet_name[:28]  # Excel allows 31 characters; room for " 2".."99"
        self.max_rows = max_rows
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", compression=zipfile.ZIP_DEFLATED)
        self.sheets = 0
        self.sheet: IO[bytes] | None = None
        self.sheet_rows = 0
        self.header_xml = ""

    def _open_sheet(self) -> IO[bytes]:
        if self.sheet is not None:
            self.sheet.write(_SHEET_END.encode())
            self.sheet.close()
        self.sheets += 1
        # force_zip64: the sheet's size is unknown when its entry starts (it may pass 4 GiB).
        sheet = self.zip.open(f"xl/worksheets/sheet{self.sheets}.xml", "w", force_zip64=True)
        sheet.write((_SHEET_START + self.header_xml).encode())
        self.sheet, self.sheet_rows = sheet, 1
        return sheet

    def start(self, headers: Sequence[str]) -> bytes:
        """The package's fixed parts and the first sheet's header row."""
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.header_xml = f'<row r="1">{"".join(map(xlsx_cell, headers))}</row>'
        self._open_sheet()
        return self.sink.take()

    def rows(self, batch: Sequence[Row]) -> bytes:
        """One batch of rows (a new sheet, header repeated, when one is full)."""
        sheet = self.sheet
        assert sheet is not None
        lines: list[str] = []
        for row in batch:
            if self.sheet_rows == self.max_rows:
                sheet.write("".join(lines).encode())
                lines = []
                sheet = self._open_sheet()
            self.sheet_rows += 1
            lines.append(f'<row r="{self.sheet_rows}">{"".join(map(xlsx_cell, row))}</row>')
        sheet.write("".join(lines).encode())
        return self.sink.take()

    def finish(self) -> bytes:
        """The last sheet's end, the workbook listing the sheets, the content types, the index."""
        assert self.sheet is not None
        self.sheet.write(_SHEET_END.encode())
        self.sheet.close()
        numbers = range(1, self.sheets + 1)
        names = [self.sheet_name if n == 1 else f"{self.sheet_name} {n}" for n in numbers]
        self.zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{_OFFICE_RELS}"><sheets>'
            + "".join(
                f'<sheet name="{_xml_text(name)}" sheetId="{n}" r:id="rId{n}"/>'
                for n, name in zip(numbers, names, strict=True)
            )
            + "</sheets></workbook>",
        )
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{n}" Target="worksheets/sheet{n}.xml" '
                f'Type="{_OFFICE_RELS}/worksheet"/>'
                for n in numbers
            )
            + f'<Relationship Id="rId{self.sheets + 1}" Target="styles.xml" '
            f'Type="{_OFFICE_RELS}/styles"/></Relationships>',
        )
        self.zip.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_PART}"/>'
                for n in numbers
            )
            + "</Types>",
        )
        self.zip.close()
        return self.sink.take()


def encoder_for(export_format: ExportFormat, sheet_name: str) -> Encoder:
    """The encoder of a download format."""
    if export_format is ExportFormat.xlsx:
        return XlsxEncoder(sheet_name)
    return CsvEncoder()


async def encoded(table: Table, encoder: Encoder) -> AsyncIterator[bytes]:
    """The table's bytes, batch by batch, each batch encoded in a worker thread."""
    yield await anyio.to_thread.run_sync(encoder.start, table.headers)
    async for batch in table.batches:
        chunk = await anyio.to_thread.run_sync(encoder.rows, batch)
        if chunk:
            yield chunk
    yield await anyio.to_thread.run_sync(encoder.finish)


def download(table: Table, export_format: ExportFormat) -> StreamingResponse:
    """A streaming download of the table (attachment named after it, dated today locally)."""
    day = datetime.now(COMPANY_TIME_ZONE).date().isoformat()
    filename = f"{table.name}-{day}.{export_format.value}"
    media_type = (
        _XLSX_MEDIA_TYPE if export_format is ExportFormat.xlsx else "text/csv; charset=utf-8"
    )
    return StreamingResponse(
        encoded(table, encoder_for(export_format, table.name)),
        media_type=media_type,
        headers={
            # filename*: table names may be Chinese; the plain one is the ASCII fallback.
            "Content-Disposition": (
                f'attachment; filename="{filename.encode("ascii", "replace").decode()}"; '
                f"filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "no-store",
        },
    )
