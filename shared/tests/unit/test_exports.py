"""Streaming CSV and XLSX encoders: what a spreadsheet user gets, and that nothing is held whole."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime

import openpyxl
import pytest

from retailcare_shared.exports import (
    CsvEncoder,
    ExportFormat,
    Row,
    Table,
    XlsxEncoder,
    batched,
    download,
    encoded,
)

HEADERS = ["编号", "名称", "金额", "提交时间", "日期", "已核实", "备注"]
FILED = datetime(2026, 2, 16, 16, 30, 5, tzinfo=UTC)  # 2026-02-17 00:30:05 in Shanghai
ROWS: list[Row] = [
    [1, "幸福超市", 12.5, FILED, date(2026, 2, 17), True, None],
    [2, '=HYPERLINK("http://x")', -3, FILED, date(2026, 1, 1), False, "+86 138"],
]


def encode(encoder: CsvEncoder | XlsxEncoder, rows: Sequence[Row]) -> bytes:
    return encoder.start(HEADERS) + encoder.rows(rows) + encoder.finish()


def test_csv_has_a_bom_chinese_text_and_local_timestamps() -> None:
    data = encode(CsvEncoder(), ROWS)
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == HEADERS
    assert lines[1] == ["1", "幸福超市", "12.5", "2026-02-17 00:30:05", "2026-02-17", "true", ""]


def test_csv_neutralises_text_a_spreadsheet_would_run_as_a_formula() -> None:
    lines = list(csv.reader(io.StringIO(encode(CsvEncoder(), ROWS).decode("utf-8-sig"))))
    assert lines[2][1] == '\'=HYPERLINK("http://x")'
    assert lines[2][6] == "'+86 138"
    assert lines[2][2] == "-3"  # a negative number is a number, not a formula


def read_workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), read_only=False)


def test_xlsx_opens_with_typed_cells() -> None:
    workbook = read_workbook(encode(XlsxEncoder("complaints"), ROWS))
    sheet = workbook["complaints"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADERS
    assert values[1] == [
        1,
        "幸福超市",
        12.5,
        datetime(2026, 2, 17, 0, 30, 5),
        datetime(2026, 2, 17),
        True,
        None,
    ]
    # Inline strings are never formulas in a workbook: the text is kept as it was.
    assert values[2][1] == '=HYPERLINK("http://x")'
    assert sheet.cell(row=2, column=4).number_format == "yyyy-mm-dd hh:mm:ss"


def test_xlsx_drops_characters_xml_cannot_carry() -> None:
    workbook = read_workbook(encode(XlsxEncoder("t"), [["a\x00b\x0bc & <d>"]]))
    assert workbook["t"].cell(row=2, column=1).value == "abc & <d>"


def test_a_full_sheet_continues_on_the_next_with_the_header_repeated() -> None:
    encoder = XlsxEncoder("results", max_rows=3)
    data = encoder.start(["n"]) + encoder.rows([[1], [2], [3]]) + encoder.rows([[4], [5]])
    workbook = read_workbook(data + encoder.finish())
    assert workbook.sheetnames == ["results", "results 2", "results 3"]
    sheets = [
        [row[0] for row in workbook[name].iter_rows(values_only=True)]
        for name in workbook.sheetnames
    ]
    assert sheets == [["n", 1, 2], ["n", 3, 4], ["n", 5]]


async def test_each_batch_is_sent_before_the_next_is_read() -> None:
    pulled: list[int] = []

    async def batches() -> AsyncIterator[Sequence[Row]]:
        for number in range(3):
            pulled.append(number)
            yield [[number, str(uuid.UUID(int=number))]]

    chunks = encoded(Table("t", ["n", "id"], batches()), CsvEncoder())
    assert b"n,id" in await anext(chunks)
    first = await anext(chunks)
    assert first.startswith(b"0,") and pulled == [0]  # the second batch is not read yet
    rest = [chunk async for chunk in chunks]
    assert pulled == [0, 1, 2] and rest[0].startswith(b"1,")


async def test_batched_splits_an_in_memory_table() -> None:
    sizes = [len(batch) async for batch in batched([[n] for n in range(5)], size=2)]
    assert sizes == [2, 2, 1]


@pytest.mark.parametrize(
    ("export_format", "media_type"),
    [
        (ExportFormat.csv, "text/csv; charset=utf-8"),
        (ExportFormat.xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_a_download_is_an_attachment_named_after_its_table(
    export_format: ExportFormat, media_type: str
) -> None:
    response = download(Table("投诉", ["n"], batched([])), export_format)
    assert response.media_type == media_type
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="??-')
    assert "filename*=UTF-8''%E6%8A%95%E8%AF%89-" in disposition
    assert disposition.endswith(f".{export_format.value}")
    assert response.headers["cache-control"] == "no-store"
