"""Pure reading and checking of import files: format, encoding, headers, rows, duplicates.

No FastAPI or SQLAlchemy here. The field rules are the API's own (customers/schemas.py,
customers/rules.py, managers/schemas.py): a row is validated with the same Pydantic models a
POST body is, so an import can never store what the API would refuse.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Literal

from pydantic import BaseModel, ValidationError

from customer_svc.customers.rules import consent_violation
from customer_svc.customers.schemas import CustomerCreate, LicenseNo
from customer_svc.managers.schemas import EmployeeNo, ManagerIn
from customer_svc.orders.pricing import cents_problem, line_amount, money, order_date_problem
from customer_svc.orders.schemas import OrderLineIn, OrderNo
from retailcare_shared.events import Settlement
from retailcare_shared.http import InputModel

Kind = Literal["shops", "managers", "assignments", "orders"]
KINDS: tuple[Kind, ...] = ("shops", "managers", "assignments", "orders")
XLSX_MAGIC = b"PK\x03\x04"
SAMPLE_BYTES = 1 << 16
# A cell holding several values (phones, districts): split on ASCII separators or the
# full-width comma, full-width semicolon and enumeration comma.
LIST_SEPARATORS = re.compile("[;,|\uff0c\uff1b\u3001]")
MAX_MESSAGE = 1000


class FileProblem(Exception):
    """The whole file is unusable (encoding, headers, size): a 422 naming the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.rule, self.message = field, rule, message


@dataclass(frozen=True)
class RowError:
    """One refused row: 1-based data row number (the header is row 1), field, rule, message."""

    row_no: int
    field: str
    rule: str
    message: str


@dataclass(frozen=True)
class Spec:
    """What a file of one kind must and may hold, and the key that must be unique in it."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every accepted column."""
        return (*self.required, *self.optional)


# Chinese headers as legacy systems export them (许可证号 = licence number, 店名 = shop name …).
SHOP_ALIASES = {
    "许可证号": "license_no",
    "专卖许可证号": "license_no",
    "店名": "name",
    "店铺名称": "name",
    "客户名称": "name",
    "负责人": "owner_name",
    "业主姓名": "owner_name",
    "电话": "phones",
    "联系电话": "phones",
    "地址": "address",
    "经营地址": "address",
    "区县": "county",
    "县区": "county",
    "片区": "district",
    "市场类型": "market_type",
    "商圈": "trading_area",
    "业态": "business_format",
    "规模": "scale",
    "订货方式": "order_method",
    "营业时长": "business_hours",
    "陈列方式": "display_form",
    "陈列品规数": "display_sku_count",
    "知名度": "renown",
    "口碑": "reputation",
    "守法等级": "compliance_grade",
    "明码标价": "price_labeling",
    "店面面积": "store_area_m2",
    "卷烟面积": "tobacco_area_m2",
    "自营": "self_operated",
    "发证日期": "licensed_on",
    "客户经理工号": "manager_employee_no",
    "生日": "birthday",
    "爱好": "hobbies",
    "同意收集个人信息": "personal_data_consent",
}
MANAGER_ALIASES = {"工号": "employee_no", "姓名": "name", "区县": "county", "片区": "districts"}
ASSIGNMENT_ALIASES = {
    "许可证号": "license_no",
    "客户经理工号": "manager_employee_no",
}

ORDER_ALIASES = {
    "订单号": "order_no",
    "许可证号": "license_no",
    "订货日期": "order_date",
    "订单日期": "order_date",
    "结算方式": "settlement",
    "卷烟编码": "sku",
    "商品编码": "sku",
    "品牌": "brand",
    "数量": "quantity",
    "订购量": "quantity",
    "单价": "unit_price",
    "毛利": "gross_profit",
    "重点品牌": "key_brand",
    "促销": "promoted",
}
SHOP_OPTIONAL = (
    *(
        name
        for name in CustomerCreate.model_fields
        if name not in {"license_no", "name", "county", "market_type", "manager_id"}
    ),
    "manager_employee_no",
)
SPECS: dict[str, Spec] = {
    "shops": Spec(
        required=("license_no", "name", "county", "market_type"),
        optional=SHOP_OPTIONAL,
        key=("license_no",),
        aliases=SHOP_ALIASES,
    ),
    "managers": Spec(
        required=("employee_no", "name", "county"),
        optional=("districts",),
        key=("employee_no",),
        aliases=MANAGER_ALIASES,
    ),
    "assignments": Spec(
        required=("license_no", "manager_employee_no"),
        optional=(),
        key=("license_no",),
        aliases=ASSIGNMENT_ALIASES,
    ),
    # One row per order line; the lines of an order share its order-level columns.
    "orders": Spec(
        required=(
            "order_no",
            "license_no",
            "order_date",
            "settlement",
            "sku",
            "brand",
            "quantity",
            "unit_price",
            "gross_profit",
        ),
        optional=("key_brand", "promoted"),
        key=("order_no", "sku"),
        aliases=ORDER_ALIASES,
    ),
}
LIST_FIELDS = frozenset({"phones", "districts"})


@dataclass(frozen=True)
class ManagerRef:
    """What a row naming a manager by employee number needs to know about them."""

    id: uuid.UUID
    county: str
    retired: bool


# ---------------------------------------------------------------------------------------------
# Format and encoding


def detect_format(head: bytes) -> Literal["xlsx", "csv"]:
    """XLSX files are ZIP archives; everything else is read as delimited text."""
    return "xlsx" if head.startswith(XLSX_MAGIC) else "csv"


def detect_encoding(stream: IO[bytes]) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK); else a FileProblem.

    The whole file is decoded in chunks (never held in memory): a legacy GBK export that
    happens to look like UTF-8 in its first kilobytes is still recognised.
    """
    stream.seek(0)
    head = stream.read(3)
    if head == codecs.BOM_UTF8:
        if _decodes(stream, "utf-8", start=3):
            return "utf-8-sig"
        raise FileProblem("file", "encoding", "the file starts with a UTF-8 BOM but is not UTF-8")
    for encoding in ("utf-8", "gb18030"):
        if _decodes(stream, encoding, start=0):
            return encoding
    raise FileProblem("file", "encoding", "the file is neither UTF-8 nor GB18030/GBK text")


def _decodes(stream: IO[bytes], encoding: str, *, start: int) -> bool:
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(SAMPLE_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)
    return True


def csv_rows(stream: IO[bytes], encoding: str) -> Iterator[list[str]]:
    """Every record of a CSV file (header first), decoded as it is read."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        header = text.readline()
        text.seek(0)
        yield from csv.reader(text, delimiter=delimiter_of(header))
    finally:
        # Detached, not closed: the caller owns the file (it may be closed already).
        with contextlib.suppress(ValueError):
            text.detach()


def delimiter_of(header: str) -> str:
    """Comma, semicolon (European Excel) or tab: whichever the header line uses most."""
    return max((",", ";", "\t"), key=header.count)


def xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    """Every row of the first worksheet of an XLSX file (header first), cells as text."""
    from openpyxl import load_workbook  # imported here: only XLSX uploads pay for it

    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken archive
        raise FileProblem(
            "file", "xlsx", f"the file is not a readable XLSX workbook: {error}"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # Licence and phone numbers typed into Excel become numbers: 330102000001.0 → "330102…".
        return str(int(value))
    return str(value)


def count_rows(rows: Iterator[list[str]], limit: int) -> int:
    """Data rows (non-blank, header excluded), stopping at limit + 1."""
    count = -1
    for row in rows:
        if any(cell.strip() for cell in row):
            count += 1
            if count > limit:
                break
    return max(count, 0)


# ---------------------------------------------------------------------------------------------
# Headers


def header_key(cell: str) -> str:
    """A header cell compared without case, spaces, BOM or a trailing asterisk."""
    return cell.replace("\ufeff", "").strip().rstrip("*").strip().lower().replace(" ", "_")


def map_header(kind: str, header: list[str]) -> list[str | None]:
    """Column index → field name; unknown, repeated or missing required columns → FileProblem."""
    spec = SPECS[kind]
    accepted = set(spec.columns)
    mapped: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        key = header_key(cell)
        if not key:
            mapped.append(None)
            continue
        name = spec.aliases.get(cell.strip().rstrip("*").strip(), key)
        if name not in accepted:
            unknown.append(cell.strip())
            mapped.append(None)
            continue
        if name in mapped:
            raise FileProblem("header", "duplicate_column", f"column {name} appears twice")
        mapped.append(name)
    if unknown:
        raise FileProblem(
            "header",
            "unknown_column",
            f"unknown columns: {', '.join(unknown)}; accepted: {', '.join(spec.columns)}",
        )
    missing = [name for name in spec.required if name not in mapped]
    if missing:
        raise FileProblem(
            ",".join(missing), "missing_column", f"required columns missing: {', '.join(missing)}"
        )
    return mapped


# ---------------------------------------------------------------------------------------------
# Rows


def cells_of(columns: list[str | None], row: list[str]) -> dict[str, str]:
    """The non-empty cells of a row by field name (an empty cell is no value)."""
    values: dict[str, str] = {}
    for name, cell in zip(columns, row, strict=False):
        if name is not None:
            text = cell.strip()
            if text:
                values[name] = text
    return values


def _listed(values: dict[str, Any]) -> dict[str, Any]:
    for name in LIST_FIELDS & values.keys():
        values[name] = [
            part.strip() for part in LIST_SEPARATORS.split(values[name]) if part.strip()
        ]
    return values


def _model_errors(row_no: int, model: type[BaseModel], values: dict[str, Any]) -> list[RowError]:
    try:
        model.model_validate(values)
    except ValidationError as error:
        return [
            RowError(
                row_no,
                ".".join(str(part) for part in item["loc"]) or "row",
                item["type"],
                item["msg"][:MAX_MESSAGE],
            )
            for item in error.errors()
        ]
    return []


def _manager_errors(
    row_no: int, employee_no: str | None, county: str | None, managers: Mapping[str, ManagerRef]
) -> tuple[uuid.UUID | None, list[RowError]]:
    if employee_no is None:
        return None, []
    manager = managers.get(employee_no)
    field_name = "manager_employee_no"
    if manager is None:
        return None, [RowError(row_no, field_name, "not_found", "no such customer manager")]
    if manager.retired:
        return None, [RowError(row_no, field_name, "retired", "the manager is retired")]
    if county is not None and manager.county != county:
        return None, [
            RowError(row_no, field_name, "county_mismatch", "the manager works in another county")
        ]
    return manager.id, []


def _scope_error(row_no: int, county: str | None, scope: str | None) -> list[RowError]:
    if scope is not None and county is not None and county != scope:
        return [RowError(row_no, "county", "forbidden_for_role", "outside your county")]
    return []


@dataclass(frozen=True)
class Context:
    """What row checks need beyond the row: the caller's county scope and the managers."""

    county_scope: str | None
    managers: Mapping[str, ManagerRef]
    today: date | None = None


RowCheck = Callable[[int, dict[str, str], Context], tuple[dict[str, Any] | None, list[RowError]]]


def check_shop(
    row_no: int, cells: dict[str, str], context: Context
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """A shop row as CustomerCreate accepts it (plus the manager by employee number)."""
    values: dict[str, Any] = _listed(dict(cells))
    employee_no = values.pop("manager_employee_no", None)
    errors = _model_errors(row_no, CustomerCreate, values)
    if not errors:
        shop = CustomerCreate.model_validate(values)
        fields = shop.model_dump(exclude_unset=True)
        violation = consent_violation(bool(fields.get("personal_data_consent")), fields)
        if violation is not None:
            errors.append(RowError(row_no, violation.field, violation.rule, violation.message))
        errors += _scope_error(row_no, shop.county, context.county_scope)
        manager_id, manager_errors = _manager_errors(
            row_no, employee_no, shop.county, context.managers
        )
        errors += manager_errors
        if not errors:
            data = shop.model_dump(mode="json", exclude_unset=True)
            if "phones" in data:
                data["phones"] = [p.replace(" ", "").replace("-", "") for p in data["phones"]]
            if manager_id is not None:
                data["manager_id"] = str(manager_id)
            return data, []
    return None, errors


def check_manager(
    row_no: int, cells: dict[str, str], context: Context
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """A manager row as POST /managers accepts it."""
    values: dict[str, Any] = _listed(dict(cells))
    errors = _model_errors(row_no, ManagerIn, values)
    if errors:
        return None, errors
    manager = ManagerIn.model_validate(values)
    errors = _scope_error(row_no, manager.county, context.county_scope)
    if errors:
        return None, errors
    data = manager.model_dump(mode="json")
    data["districts"] = sorted(set(data["districts"]))
    return data, []


class AssignmentRow(InputModel):
    """One row of an assignments file."""

    license_no: LicenseNo
    manager_employee_no: EmployeeNo


def check_assignment(
    row_no: int, cells: dict[str, str], context: Context
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """A licence and the employee number of the manager it moves to."""
    errors = _model_errors(row_no, AssignmentRow, dict(cells))
    if errors:
        return None, errors
    row = AssignmentRow.model_validate(cells)
    # The shop's county is checked against the manager's in the merge (the shop is in the DB).
    manager_id, errors = _manager_errors(row_no, row.manager_employee_no, None, context.managers)
    if errors:
        return None, errors
    assert manager_id is not None
    return {"license_no": row.license_no, "manager_id": str(manager_id)}, []


class OrderLineRow(OrderLineIn):
    """One row of an orders file: an order line with its order's columns."""

    order_no: OrderNo
    license_no: LicenseNo
    order_date: date
    settlement: Settlement


def check_order_line(
    row_no: int, cells: dict[str, str], context: Context
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """An order line as POST /orders accepts it (amount computed here, as the API does)."""
    errors = _model_errors(row_no, OrderLineRow, dict(cells))
    if errors:
        return None, errors
    line = OrderLineRow.model_validate(cells)
    problems = [
        cents_problem("unit_price", line.unit_price),
        cents_problem("gross_profit", line.gross_profit),
        order_date_problem(line.order_date, context.today) if context.today else None,
    ]
    found = [RowError(row_no, p.field, p.rule, p.message) for p in problems if p is not None]
    if found:
        return None, found
    data = line.model_dump(mode="json")
    data["amount"] = money(line_amount(line.quantity, line.unit_price))
    data["unit_price"] = money(line.unit_price)
    data["gross_profit"] = money(line.gross_profit)
    return data, []


CHECKS: dict[str, RowCheck] = {
    "shops": check_shop,
    "managers": check_manager,
    "assignments": check_assignment,
    "orders": check_order_line,
}


@dataclass
class Checked:
    """The outcome of checking a file's rows, filled as batches go by."""

    rows_read: int = 0
    rows_valid: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    first_seen: dict[str, int] = field(default_factory=dict)


def check_rows(
    kind: str,
    columns: list[str | None],
    rows: Iterator[list[str]],
    context: Context,
    checked: Checked,
    batch_size: int,
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Valid rows in batches of (row number, JSON-ready values); errors collected in `checked`.

    A key repeated inside the file keeps its first row; every later one is refused
    (`duplicate_in_file`, naming the first row), so one file never says two things about a shop.
    """
    spec, check = SPECS[kind], CHECKS[kind]
    batch: list[tuple[int, dict[str, Any]]] = []
    for row_no, row in enumerate(rows, start=2):
        cells = cells_of(columns, row)
        if not cells:
            continue
        checked.rows_read += 1
        data, errors = check(row_no, cells, context)
        key = "|".join(cells.get(name, "") for name in spec.key)
        if data is not None:
            first = checked.first_seen.setdefault(key, row_no)
            if first != row_no:
                data, errors = (
                    None,
                    [
                        RowError(
                            row_no,
                            spec.key[-1],
                            "duplicate_in_file",
                            f"{key.replace('|', ' ')} is already in row {first}",
                        )
                    ],
                )
        if data is None:
            checked.errors.extend(errors)
            checked.rejected_rows.add(row_no)
            continue
        checked.rows_valid += 1
        batch.append((row_no, data))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# The columns of a job's error report (`GET /imports/{id}/errors`).
ERROR_COLUMNS = ("row", "field", "rule", "message")
