"""The pure part of bulk import: encodings, headers, row rules, duplicates, row counting."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime

import pytest

from customer_svc.imports import parsing
from customer_svc.imports.parsing import Checked, Context, FileProblem, ManagerRef

NO_SCOPE = Context(county_scope=None, managers={})


def rows_of(text: str, encoding: str = "utf-8") -> list[list[str]]:
    stream = io.BytesIO(text.encode(encoding))
    return list(parsing.csv_rows(stream, parsing.detect_encoding(stream)))


def test_encodings_are_detected() -> None:
    assert parsing.detect_encoding(io.BytesIO("店名\n".encode())) == "utf-8"
    assert parsing.detect_encoding(io.BytesIO(b"\xef\xbb\xbf" + "店名\n".encode())) == "utf-8-sig"
    assert parsing.detect_encoding(io.BytesIO("幸福便利店\n".encode("gbk"))) == "gb18030"
    with pytest.raises(FileProblem) as error:
        parsing.detect_encoding(io.BytesIO(b"\xff\xfe\xfa\xfb\x80\x80"))
    assert error.value.rule == "encoding"


def test_gbk_rows_decode_and_the_delimiter_follows_the_header() -> None:
    assert rows_of("许可证号;店名\n330102000001;幸福便利店\n", "gbk") == [
        ["许可证号", "店名"],
        ["330102000001", "幸福便利店"],
    ]
    assert rows_of("a\tb\n1\t2\n") == [["a", "b"], ["1", "2"]]


def test_header_aliases_unknown_missing_and_repeated_columns() -> None:
    assert parsing.map_header("shops", ["许可证号", "店名", "County ", "market_type*", ""]) == [
        "license_no",
        "name",
        "county",
        "market_type",
        None,
    ]
    with pytest.raises(FileProblem) as unknown:
        parsing.map_header("shops", ["license_no", "name", "county", "market_type", "colour"])
    assert unknown.value.rule == "unknown_column" and "colour" in unknown.value.message
    with pytest.raises(FileProblem) as missing:
        parsing.map_header("shops", ["license_no", "name"])
    assert missing.value.rule == "missing_column"
    assert missing.value.field == "county,market_type"
    with pytest.raises(FileProblem) as twice:
        parsing.map_header("shops", ["license_no", "许可证号", "name", "county", "market_type"])
    assert twice.value.rule == "duplicate_column"


def test_spreadsheet_cells_read_as_a_csv_export_would() -> None:
    assert parsing.cell_text(330102000001.0) == "330102000001"
    assert parsing.cell_text(12.5) == "12.5"
    assert parsing.cell_text(datetime(2020, 1, 2)) == "2020-01-02"
    assert parsing.cell_text(date(2020, 1, 2)) == "2020-01-02"
    assert parsing.cell_text(None) == ""
    assert parsing.cell_text(True) == "true"


def test_row_count_stops_after_the_limit_and_skips_blank_rows() -> None:
    rows = iter([["h"], ["1"], [""], ["2"], ["3"], ["4"]])
    assert parsing.count_rows(rows, limit=2) == 3
    assert parsing.count_rows(iter([["h"], ["1"], ["  "]]), limit=10) == 1


def check(kind: str, header: list[str], rows: list[list[str]], context: Context = NO_SCOPE):  # type: ignore[no-untyped-def]
    checked = Checked()
    columns = parsing.map_header(kind, header)
    batches = list(parsing.check_rows(kind, columns, iter(rows), context, checked, batch_size=2))
    return [row for batch in batches for row in batch], checked


SHOP = ["license_no", "name", "county", "market_type", "phones", "birthday"]


def test_shop_rows_follow_the_api_rules() -> None:
    valid, checked = check(
        "shops",
        SHOP,
        [
            ["330102000001", "幸福", "330102", "urban", "138 1234-5678\uff0c13900000000", ""],
            ["330102000002", "B", "330102", "downtown", "", ""],
            ["330102000003", "C", "330102", "urban", "", "1980-01-01"],
            ["330102000001", "Again", "330102", "urban", "", ""],
            ["", "", "", "", "", ""],
        ],
    )
    assert [row_no for row_no, _ in valid] == [2]
    assert valid[0][1]["phones"] == ["13812345678", "13900000000"]
    assert checked.rows_read == 4 and checked.rows_valid == 1
    assert [(e.row_no, e.field, e.rule) for e in checked.errors] == [
        (3, "market_type", "literal_error"),
        (4, "birthday", "personal_data_consent_required"),
        (5, "license_no", "duplicate_in_file"),
    ]
    assert "row 2" in checked.errors[-1].message


def test_scope_and_managers_by_employee_number() -> None:
    manager = ManagerRef(uuid.uuid4(), "330102", retired=False)
    context = Context(
        county_scope="330102",
        managers={
            "E1": manager,
            "E2": ManagerRef(uuid.uuid4(), "330102", retired=True),
            "E3": ManagerRef(uuid.uuid4(), "999999", retired=False),
        },
    )
    header = ["license_no", "name", "county", "market_type", "manager_employee_no"]
    valid, checked = check(
        "shops",
        header,
        [
            ["330102000001", "A", "330102", "urban", "E1"],
            ["330102000002", "B", "330102", "urban", "E2"],
            ["330102000003", "C", "330102", "urban", "E3"],
            ["330102000004", "D", "330102", "urban", "E9"],
            ["999999000005", "E", "999999", "urban", ""],
        ],
        context,
    )
    assert valid == [
        (
            2,
            {
                "license_no": "330102000001",
                "name": "A",
                "county": "330102",
                "market_type": "urban",
                "manager_id": str(manager.id),
            },
        )
    ]
    assert [(e.row_no, e.rule) for e in checked.errors] == [
        (3, "retired"),
        (4, "county_mismatch"),
        (5, "not_found"),
        (6, "forbidden_for_role"),
    ]


def test_manager_rows_split_districts() -> None:
    valid, _ = check(
        "managers", ["工号", "姓名", "区县", "片区"], [["E1", "Li", "330102", "D2;D1、D2"]]
    )
    assert valid[0][1]["districts"] == ["D1", "D2"]


def test_order_lines_compute_amounts_and_refuse_what_the_api_refuses() -> None:
    header = list(parsing.SPECS["orders"].required)
    base = ["H1", "330102000001", "2025-12-03", "cash", "6901", "Zhonghua", "3", "450.50", "90"]
    late = [*base[:2], "2099-01-01", *base[3:]]
    cents = ["H2", *base[1:7], "1.005", "1"]
    context = Context(None, {}, today=date(2026, 12, 7))
    valid, checked = check("orders", header, [base, base, late, cents], context)
    assert valid[0][1]["amount"] == "1351.50" and valid[0][1]["unit_price"] == "450.50"
    assert [(e.row_no, e.field, e.rule) for e in checked.errors] == [
        (3, "sku", "duplicate_in_file"),
        (4, "order_date", "not_after_tomorrow"),
        (5, "unit_price", "decimal_places"),
    ]
