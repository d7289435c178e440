"""Every query of the import domain: staging by COPY, set-based merges, job claims.

A merge is a handful of statements in ONE transaction (the job's claim): the shops (or
assignments), their versions, their manager assignments and their outbox rows, each written by
one INSERT … SELECT / UPDATE … FROM over the staged rows, so 500,000 rows cost a few statements.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.customers.rules import VERSIONED_FIELDS
from customer_svc.customers.service import SNAPSHOT_FIELDS
from customer_svc.imports.models import ImportJob, ImportRowError
from customer_svc.imports.parsing import ManagerRef, RowError
from customer_svc.managers.models import Manager
from customer_svc.orders.pricing import MAX_LINES
from retailcare_shared.auth import Principal
from retailcare_shared.db import OUTBOX_WRITTEN, session_driver
from retailcare_shared.events import CUSTOMER_EVENTS, ORDER_EVENTS, SCHEMA_VERSION
from retailcare_shared.platform_tables import OUTBOX_CHANNEL

# Columns a shop file may set on an existing shop (the licence is the key; status has its own
# endpoint); `manager_employee_no` arrives as manager_id.
SETTABLE = tuple(name for name in VERSIONED_FIELDS if name not in {"license_no", "status"})
NOT_NULL_DEFAULTS = {"phones": "'{}'::varchar[]", "self_operated": "false"}
NOT_NULL_DEFAULTS["personal_data_consent"] = "false"


def state_sql(alias: str) -> str:
    """The versioned state of a customers row as jsonb (the snapshot of customer_versions)."""
    pairs = ", ".join(f"'{name}', {alias}.{name}" for name in VERSIONED_FIELDS)
    return f"jsonb_build_object({pairs})"


def bus_sql(alias: str) -> str:
    """The `customer.registered` payload of a customers row (no personal data)."""
    pairs = ", ".join(f"'{name}', {alias}.{name}" for name in SNAPSHOT_FIELDS)
    return f"jsonb_build_object('customer_id', {alias}.id, {pairs})"


def changes_sql(new: str, old: str) -> str:
    """{field: {old, new}} for every field whose value differs (old NULL = registration)."""
    return (
        "(SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', "
        "coalesce(o.value, 'null'::jsonb), 'new', n.value)), '{}'::jsonb) "
        f"FROM jsonb_each({new}) n LEFT JOIN jsonb_each({old}) o ON o.key = n.key "
        "WHERE n.value IS DISTINCT FROM coalesce(o.value, 'null'::jsonb))"
    )


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's connection inside its transaction."""
    return await session_driver(session)


# ---------------------------------------------------------------------------------------------
# Jobs and staging


async def managers_by_employee_no(session: AsyncSession) -> dict[str, ManagerRef]:
    """Every manager, by employee number (thousands at most: one query beats a join per row)."""
    rows = await session.execute(
        select(Manager.employee_no, Manager.id, Manager.county, Manager.retired_at)
    )
    return {
        row.employee_no: ManagerRef(row.id, row.county, row.retired_at is not None) for row in rows
    }


async def stage_rows(
    session: AsyncSession,
    job_id: uuid.UUID,
    rows: Sequence[tuple[int, dict[str, Any]]],
    timeout: float,
) -> None:
    """COPY a batch of checked rows into import_rows."""
    connection = await driver(session)
    await connection.copy_records_to_table(
        "import_rows",
        records=[(job_id, row_no, json.dumps(data, ensure_ascii=False)) for row_no, data in rows],
        columns=("job_id", "row_no", "data"),
        timeout=timeout,
    )


async def stage_errors(
    session: AsyncSession, job_id: uuid.UUID, errors: Iterable[RowError], timeout: float
) -> None:
    """COPY refused rows into import_errors."""
    records = [(job_id, e.row_no, e.field[:100], e.rule[:100], e.message[:1000]) for e in errors]
    if not records:
        return
    connection = await driver(session)
    await connection.copy_records_to_table(
        "import_errors",
        records=records,
        columns=("job_id", "row_no", "field", "rule", "message"),
        timeout=timeout,
    )


# Checks that need the stored shops, run once over the staged rows: the offending rows become
# errors and leave the staging table in the same statement.
_REFUSE = """
WITH bad AS (
    {select}
), gone AS (
    DELETE FROM import_rows r USING bad
    WHERE r.job_id = $1 AND r.row_no = bad.row_no
)
INSERT INTO import_errors (job_id, row_no, field, rule, message)
SELECT $1, row_no, field, rule, message FROM bad
RETURNING row_no
"""
SHOP_SCOPE = """
    SELECT r.row_no, 'license_no' AS field, 'forbidden_for_role' AS rule,
           'this licence belongs to a shop outside your county' AS message
    FROM import_rows r JOIN customers c ON c.license_no = r.data->>'license_no'
    WHERE r.job_id = $1 AND c.county <> $2::text
"""
ASSIGNMENT_SHOPS = """
    SELECT r.row_no, CASE WHEN c.id IS NULL OR ($2::text IS NOT NULL AND c.county <> $2::text)
                          THEN 'license_no' ELSE 'manager_employee_no' END AS field,
           CASE WHEN c.id IS NULL OR ($2::text IS NOT NULL AND c.county <> $2::text)
                THEN 'not_found' ELSE 'county_mismatch' END AS rule,
           CASE WHEN c.id IS NULL OR ($2::text IS NOT NULL AND c.county <> $2::text)
                THEN 'no shop holds this licence'
                ELSE 'the manager works in another county' END AS message
    FROM import_rows r
    LEFT JOIN customers c ON c.license_no = r.data->>'license_no'
    LEFT JOIN managers m ON m.id = (r.data->>'manager_id')::uuid
    WHERE r.job_id = $1
      AND (c.id IS NULL OR ($2::text IS NOT NULL AND c.county <> $2::text)
           OR m.county <> c.county)
"""


async def refuse_staged(
    session: AsyncSession, job_id: uuid.UUID, kind: str, county_scope: str | None, timeout: float
) -> set[int]:
    """Refuse staged rows the stored shops contradict; the refused row numbers."""
    if kind == "shops":
        if county_scope is None:
            return set()
        check = SHOP_SCOPE
    elif kind == "assignments":
        check = ASSIGNMENT_SHOPS
    elif kind == "managers" and county_scope is not None:
        check = MANAGER_SCOPE
    elif kind == "orders":
        check = ORDER_CHECKS
    else:
        return set()
    connection = await driver(session)
    rows = await connection.fetch(
        _REFUSE.format(select=check), job_id, county_scope, timeout=timeout
    )
    return {row["row_no"] for row in rows}


async def drop_staged(session: AsyncSession, job_id: uuid.UUID) -> None:
    """Forget a job's staged rows (after its merge, or when it fails)."""
    connection = await driver(session)
    await connection.execute("DELETE FROM import_rows WHERE job_id = $1", job_id)


def jobs_visible_to(principal: Principal) -> Select[Any]:
    """The jobs a caller may see: their own, their county's, or any for admin."""
    statement = select(ImportJob)
    if principal.is_admin:
        return statement
    seen = ImportJob.created_by == principal.sub
    if principal.county is not None:
        seen = or_(seen, ImportJob.county_scope == principal.county)
    return statement.where(seen)


async def visible_job(
    session: AsyncSession, principal: Principal, job_id: uuid.UUID
) -> ImportJob | None:
    """A job by id, if the caller may see it."""
    job: ImportJob | None = await session.scalar(
        jobs_visible_to(principal).where(ImportJob.id == job_id)
    )
    return job


async def job_is_claimed(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """Whether a worker holds the job right now (its claim is a row lock held to the commit)."""
    free = await session.scalar(
        select(ImportJob.id)
        .where(ImportJob.id == job_id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return free is None


async def claim_next(session: AsyncSession) -> ImportJob | None:
    """The oldest queued job no other worker holds, locked until this transaction ends."""
    return await session.scalar(
        select(ImportJob)
        .where(ImportJob.status == "queued")
        .order_by(ImportJob.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def errors_of(session: AsyncSession, job_id: uuid.UUID) -> list[tuple[int, str, str, str]]:
    """Every refused row of a job, in row order."""
    rows = await session.execute(
        select(
            ImportRowError.row_no, ImportRowError.field, ImportRowError.rule, ImportRowError.message
        )
        .where(ImportRowError.job_id == job_id)
        .order_by(ImportRowError.row_no)
    )
    return [(row.row_no, row.field, row.rule, row.message) for row in rows]


async def count_errors(session: AsyncSession, job_id: uuid.UUID) -> int:
    """Refused rows of a job (distinct row numbers)."""
    count = await session.scalar(
        select(func.count(func.distinct(ImportRowError.row_no))).where(
            ImportRowError.job_id == job_id
        )
    )
    return int(count or 0)


async def mark_failed(session: AsyncSession, job_id: uuid.UUID, detail: str, at: datetime) -> None:
    """A job that will not be merged."""
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status="failed", detail=detail[:1000], finished_at=at)
    )


# ---------------------------------------------------------------------------------------------
# Shops merge


_MERGED = """
CREATE TEMP TABLE IF NOT EXISTS import_merged (
    customer_id uuid PRIMARY KEY, kind text, version int, old_state jsonb, new_state jsonb,
    old_manager uuid, new_manager uuid, bus jsonb, valid_from timestamptz
) ON COMMIT DROP
"""
_SOURCE = """
    SELECT r.row_no, s.* FROM import_rows r
    CROSS JOIN LATERAL jsonb_populate_record(NULL::customers, r.data) s
    WHERE r.job_id = $1
"""


def _new_value(name: str, present: set[str]) -> str:
    """The value a shop file gives a column of an existing shop (absent columns keep theirs)."""
    if name in {"birthday", "hobbies"} and (present & {name, "personal_data_consent"}):
        # Withdrawn consent clears what only consent allowed (rules.withdraw_consent).
        consent = _new_value("personal_data_consent", present)
        value = f"src.{name}" if name in present else f"c.{name}"
        return f"CASE WHEN {consent} THEN {value} END"
    if name not in present:
        return f"c.{name}"
    default = NOT_NULL_DEFAULTS.get(name)
    return f"coalesce(src.{name}, {default})" if default else f"src.{name}"


def shop_update_sql(present: set[str], search_terms: bool) -> str | None:
    """UPDATE of the shops whose file row differs from them in a present column."""
    columns = [
        name
        for name in SETTABLE
        if name in present
        or (name in {"birthday", "hobbies"} and "personal_data_consent" in present)
    ]
    if not columns:
        return None
    values = {name: _new_value(name, present) for name in columns}
    assignments = ", ".join(f"{name} = {value}" for name, value in values.items())
    if search_terms and present & {"name", "address", "owner_name"}:
        assignments += ", search_terms = coalesce(src.search_terms, c.search_terms)"
    old = ", ".join(f"c.{name}" for name in columns)
    new = ", ".join(values.values())
    return f"""
WITH src AS ({_SOURCE}),
old AS (
    SELECT c.id, {state_sql("c")} AS old_state, c.manager_id AS old_manager,
           (SELECT v.valid_from FROM customer_versions v
            WHERE v.customer_id = c.id AND v.valid_to IS NULL) AS open_from
    FROM customers c JOIN src ON src.license_no = c.license_no
),
upd AS (
    UPDATE customers c SET {assignments}, version = c.version + 1, updated_at = now()
    FROM src
    WHERE c.license_no = src.license_no AND ROW({old}) IS DISTINCT FROM ROW({new})
    RETURNING c.*
)
INSERT INTO import_merged
SELECT upd.id, 'updated', upd.version, old.old_state, {state_sql("upd")}, old.old_manager,
       upd.manager_id, {bus_sql("upd")}, GREATEST($2::timestamptz, old.open_from)
FROM upd JOIN old ON old.id = upd.id
"""


def shop_insert_sql(present: set[str], search_terms: bool) -> str:
    """INSERT of the shops whose licence no shop holds yet (version 1, active)."""
    columns = [name for name in SETTABLE if name in present or name in NOT_NULL_DEFAULTS]
    values = [
        f"coalesce(src.{name}, {NOT_NULL_DEFAULTS[name]})"
        if name in NOT_NULL_DEFAULTS
        else f"src.{name}"
        for name in columns
    ]
    if search_terms:
        columns.append("search_terms")
        values.append("coalesce(src.search_terms, '{}')")
    return f"""
WITH src AS ({_SOURCE}),
ins AS (
    INSERT INTO customers (id, license_no, {", ".join(columns)}, status, version, created_at,
                           updated_at)
    SELECT gen_random_uuid(), src.license_no, {", ".join(values)}, 'active', 1, now(), now()
    FROM src
    WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.license_no = src.license_no)
    ON CONFLICT (license_no) DO NOTHING
    RETURNING *
)
INSERT INTO import_merged
SELECT ins.id, 'registered', 1, NULL, {state_sql("ins")}, NULL, ins.manager_id, {bus_sql("ins")},
       $2::timestamptz
FROM ins
"""


# Versions, assignments and events of everything import_merged holds.
_CLOSE_VERSIONS = """
UPDATE customer_versions v SET valid_to = m.valid_from
FROM import_merged m
WHERE m.kind <> 'registered' AND v.customer_id = m.customer_id AND v.valid_to IS NULL
"""
_WRITE_VERSIONS = f"""
INSERT INTO customer_versions (customer_id, version, valid_from, valid_to, change_kind,
                               changed_by, changed_fields, changes, reason, effective_date,
                               snapshot)
SELECT m.customer_id, m.version, m.valid_from, NULL, m.kind, $1::text,
       ARRAY(SELECT jsonb_object_keys(d.changes) ORDER BY 1), d.changes, $3::text,
       $2::date, m.new_state
FROM import_merged m
CROSS JOIN LATERAL (SELECT {changes_sql("m.new_state", "m.old_state")} AS changes) d
"""
_WRITE_ASSIGNMENTS = """
INSERT INTO manager_assignments (customer_id, manager_id, previous_manager_id, effective_date,
                                 assigned_by, assigned_at)
SELECT m.customer_id, m.new_manager, m.old_manager, $2::date, $1::text, now()
FROM import_merged m
WHERE m.new_manager IS DISTINCT FROM m.old_manager
ORDER BY m.customer_id
"""
_WRITE_SHOP_EVENTS = f"""
INSERT INTO outbox (event_id, topic, key, event_type, value)
SELECT e.event_id, '{CUSTOMER_EVENTS}', e.key, e.event_type,
       convert_to(json_build_object('id', e.event_id, 'type', e.event_type,
           'source', 'customer-svc', 'subject', e.key, 'time', now(),
           'schema_version', {SCHEMA_VERSION}, 'correlation_id', $1::text,
           'data', e.data)::text, 'UTF8')
FROM (
    SELECT gen_random_uuid() AS event_id, m.customer_id::text AS key, m.customer_id,
           CASE m.kind WHEN 'registered' THEN 'customer.registered'
                ELSE 'customer.updated' END AS event_type,
           CASE m.kind WHEN 'registered' THEN m.bus
                ELSE m.bus || jsonb_build_object(
                    'changed_fields', ARRAY(SELECT jsonb_object_keys(
                        {changes_sql("m.new_state", "m.old_state")}) ORDER BY 1),
                    'version', m.version) END AS data
    FROM import_merged m
    WHERE m.kind IN ('registered', 'updated')
    ORDER BY m.customer_id
) e
"""
_WRITE_ASSIGNED_EVENTS = f"""
INSERT INTO outbox (event_id, topic, key, event_type, value)
SELECT e.event_id, '{CUSTOMER_EVENTS}', e.key, 'customer.manager_assigned',
       convert_to(json_build_object('id', e.event_id, 'type', 'customer.manager_assigned',
           'source', 'customer-svc', 'subject', e.key, 'time', now(),
           'schema_version', {SCHEMA_VERSION}, 'correlation_id', $1::text,
           'data', e.data)::text, 'UTF8')
FROM (
    SELECT gen_random_uuid() AS event_id, m.customer_id::text AS key,
           jsonb_build_object('customer_id', m.customer_id, 'manager_id', m.new_manager,
                              'previous_manager_id', m.old_manager,
                              'effective_date', $2::date) AS data
    FROM import_merged m
    WHERE m.new_manager IS DISTINCT FROM m.old_manager
      AND (m.kind <> 'registered')
    ORDER BY m.customer_id
) e
"""


async def merge_shops(
    session: AsyncSession,
    job_id: uuid.UUID,
    present: set[str],
    valid_from: datetime,
    timeout: float,
    search_terms: bool,
) -> int:
    """Insert new shops and update changed ones from the staged rows; the count written."""
    connection = await driver(session)
    await start_merge(connection, timeout)
    # Lock the stored shops the file names first, so concurrent API edits serialise with us and
    # the old state read below is the state we overwrite.
    await connection.execute(
        "SELECT 1 FROM customers c JOIN import_rows r ON c.license_no = r.data->>'license_no'"
        " WHERE r.job_id = $1 ORDER BY c.id FOR UPDATE OF c",
        job_id,
        timeout=timeout,
    )
    update_sql = shop_update_sql(present, search_terms)
    if update_sql is not None:
        await connection.execute(update_sql, job_id, valid_from, timeout=timeout)
    await connection.execute(
        shop_insert_sql(present, search_terms), job_id, valid_from, timeout=timeout
    )
    return int(await connection.fetchval("SELECT count(*) FROM import_merged") or 0)


async def start_merge(connection: asyncpg.Connection, timeout: float) -> None:
    """An empty import_merged for this transaction."""
    await connection.execute(_MERGED, timeout=timeout)
    await connection.execute("TRUNCATE import_merged", timeout=timeout)


def assignment_merge_sql(source: str) -> str:
    """Move the shops of `source` (customer_id, manager_id; parameters from $2) to their manager.

    $1 is the versions' valid_from; shops already with that manager are left alone.
    """
    return f"""
WITH src AS ({source}),
old AS (
    SELECT c.id, {state_sql("c")} AS old_state, c.manager_id AS old_manager,
           (SELECT v.valid_from FROM customer_versions v
            WHERE v.customer_id = c.id AND v.valid_to IS NULL) AS open_from
    FROM customers c JOIN src ON src.customer_id = c.id
),
upd AS (
    UPDATE customers c SET manager_id = src.manager_id, version = c.version + 1,
                           updated_at = now()
    FROM src
    WHERE c.id = src.customer_id AND c.manager_id IS DISTINCT FROM src.manager_id
    RETURNING c.*
)
INSERT INTO import_merged
SELECT upd.id, 'manager_assigned', upd.version, old.old_state, {state_sql("upd")},
       old.old_manager, upd.manager_id, NULL, GREATEST($1::timestamptz, old.open_from)
FROM upd JOIN old ON old.id = upd.id
RETURNING customer_id
"""


STAGED_ASSIGNMENTS = """
    SELECT c.id AS customer_id, (r.data->>'manager_id')::uuid AS manager_id
    FROM import_rows r JOIN customers c ON c.license_no = r.data->>'license_no'
    WHERE r.job_id = $2
"""
LISTED_ASSIGNMENTS = """
    SELECT * FROM unnest($2::uuid[], $3::uuid[]) AS a(customer_id, manager_id)
"""
MANAGER_SHOPS = """
    SELECT c.id AS customer_id, $3::uuid AS manager_id FROM customers c
    WHERE c.manager_id = $2 AND c.status <> 'exited'
"""


async def merge_assignments(
    session: AsyncSession, source: str, valid_from: datetime, *args: Any, timeout: float
) -> list[uuid.UUID]:
    """Reassign shops set-based (see assignment_merge_sql); the shops that actually moved."""
    connection = await driver(session)
    await start_merge(connection, timeout)
    rows = await connection.fetch(assignment_merge_sql(source), valid_from, *args, timeout=timeout)
    return [row["customer_id"] for row in rows]


async def write_history_and_events(
    session: AsyncSession,
    actor: str,
    correlation_id: str | None,
    effective_date: date,
    reason: str | None,
    timeout: float,
) -> None:
    """Versions, assignment history and outbox rows of every merged shop; wakes the relays."""
    connection = await driver(session)
    await connection.execute(_CLOSE_VERSIONS, timeout=timeout)
    await connection.execute(_WRITE_VERSIONS, actor, effective_date, reason, timeout=timeout)
    await connection.execute(_WRITE_ASSIGNMENTS, actor, effective_date, timeout=timeout)
    await connection.execute(_WRITE_SHOP_EVENTS, correlation_id, timeout=timeout)
    await connection.execute(
        _WRITE_ASSIGNED_EVENTS, correlation_id, effective_date, timeout=timeout
    )
    await connection.execute(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")
    session.info[OUTBOX_WRITTEN] = True


async def merged_rows(session: AsyncSession, kind: str) -> list[Any]:
    """(customer_id, name, address, owner_name) of merged shops of a kind."""
    connection = await driver(session)
    return list(
        await connection.fetch(
            "SELECT c.id, c.name, c.address, c.owner_name FROM customers c"
            " JOIN import_merged m ON m.customer_id = c.id WHERE m.kind = $1",
            kind,
        )
    )


async def set_search_terms(
    session: AsyncSession, ids: list[uuid.UUID], terms: list[str], timeout: float
) -> None:
    """Rewrite search terms of shops (terms as array literals, one per shop)."""
    connection = await driver(session)
    await connection.execute(
        "UPDATE customers c SET search_terms = t.terms::text[]"
        " FROM unnest($1::uuid[], $2::text[]) AS t(id, terms) WHERE c.id = t.id",
        ids,
        terms,
        timeout=timeout,
    )


# ---------------------------------------------------------------------------------------------
# Managers merge (managers emit no events: events.md has no manager event type)

MERGE_MANAGERS = """
WITH src AS (
    SELECT r.data->>'employee_no' AS employee_no, r.data->>'name' AS name,
           r.data->>'county' AS county,
           ARRAY(SELECT jsonb_array_elements_text(r.data->'districts'))::varchar[] AS districts
    FROM import_rows r WHERE r.job_id = $1
), ins AS (
    INSERT INTO managers (id, employee_no, name, county, districts, created_by, created_at,
                          version)
    SELECT gen_random_uuid(), employee_no, name, county, districts, $2::text, now(), 1
    FROM src
    ON CONFLICT (employee_no) DO UPDATE
        SET name = EXCLUDED.name, county = EXCLUDED.county, districts = EXCLUDED.districts,
            version = managers.version + 1, updated_at = now()
        WHERE (managers.name, managers.county, managers.districts)
              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.county, EXCLUDED.districts)
    RETURNING 1
)
SELECT count(*) FROM ins
"""
MANAGER_SCOPE = """
    SELECT r.row_no, 'employee_no' AS field, 'forbidden_for_role' AS rule,
           'this employee number belongs to a manager outside your county' AS message
    FROM import_rows r JOIN managers m ON m.employee_no = r.data->>'employee_no'
    WHERE r.job_id = $1 AND m.county <> $2::text
"""


async def merge_managers(
    session: AsyncSession, job_id: uuid.UUID, actor: str, timeout: float
) -> int:
    """Create new managers and update changed ones; the count written."""
    connection = await driver(session)
    return int(await connection.fetchval(MERGE_MANAGERS, job_id, actor, timeout=timeout) or 0)


# ---------------------------------------------------------------------------------------------
# Historical orders: one staged row per line, grouped into orders by SQL

ORDER_CHECKS = f"""
    SELECT r.row_no, 'license_no' AS field, 'not_found' AS rule,
           'no shop holds this licence' AS message
    FROM import_rows r LEFT JOIN customers c ON c.license_no = r.data->>'license_no'
    WHERE r.job_id = $1 AND (c.id IS NULL OR ($2::text IS NOT NULL AND c.county <> $2::text))
    UNION ALL
    SELECT r.row_no, 'order_no', 'inconsistent_order',
           'the lines of an order must share licence, order date and settlement'
    FROM import_rows r JOIN (
        SELECT data->>'order_no' AS order_no FROM import_rows WHERE job_id = $1
        GROUP BY 1
        HAVING count(DISTINCT (data->>'license_no', data->>'order_date', data->>'settlement')) > 1
            OR count(*) > {MAX_LINES}
    ) bad ON bad.order_no = r.data->>'order_no'
    WHERE r.job_id = $1
"""

MERGE_ORDERS = f"""
WITH lines AS (
    SELECT r.row_no, r.data->>'order_no' AS order_no, c.id AS customer_id,
           (r.data->>'order_date')::date AS order_date, r.data->>'settlement' AS settlement,
           r.data->>'sku' AS sku, r.data->>'brand' AS brand, (r.data->>'quantity')::int AS quantity,
           (r.data->>'unit_price')::numeric(12, 2) AS unit_price,
           (r.data->>'amount')::numeric(16, 2) AS amount,
           (r.data->>'gross_profit')::numeric(16, 2) AS gross_profit,
           (r.data->>'key_brand')::boolean AS key_brand, (r.data->>'promoted')::boolean AS promoted
    FROM import_rows r JOIN customers c ON c.license_no = r.data->>'license_no'
    WHERE r.job_id = $1
), grouped AS (
    SELECT gen_random_uuid() AS id, order_no, (array_agg(customer_id))[1] AS customer_id,
           min(order_date) AS order_date, min(settlement) AS settlement,
           sum(amount) AS total_amount, sum(quantity)::int AS total_quantity,
           count(*)::int AS line_count,
           jsonb_agg(jsonb_build_object(
               'sku', sku, 'brand', brand, 'quantity', quantity,
               'unit_price', unit_price::text, 'amount', amount::text,
               'gross_profit', gross_profit::text, 'key_brand', key_brand, 'promoted', promoted
           ) ORDER BY row_no) AS lines
    FROM lines GROUP BY order_no
), new_orders AS (
    INSERT INTO orders (id, order_no, customer_id, order_date, settlement, total_amount,
                        total_quantity, line_count, status, created_by)
    SELECT id, order_no, customer_id, order_date, settlement, total_amount, total_quantity,
           line_count, 'placed', $2::text
    FROM grouped
    ON CONFLICT (order_no) DO NOTHING
    RETURNING id, order_no
), new_lines AS (
    INSERT INTO order_lines (order_id, line_no, sku, brand, quantity, unit_price, amount,
                             gross_profit, key_brand, promoted)
    SELECT n.id, row_number() OVER (PARTITION BY l.order_no ORDER BY l.row_no), l.sku, l.brand,
           l.quantity, l.unit_price, l.amount, l.gross_profit, l.key_brand, l.promoted
    FROM lines l JOIN new_orders n ON n.order_no = l.order_no
), events AS (
    INSERT INTO outbox (event_id, topic, key, event_type, value)
    SELECT e.event_id, '{ORDER_EVENTS}', e.key, 'order.placed',
           convert_to(json_build_object('id', e.event_id, 'type', 'order.placed',
               'source', 'customer-svc', 'subject', e.key, 'time', now(),
               'schema_version', {SCHEMA_VERSION}, 'correlation_id', NULL,
               'data', e.data)::text, 'UTF8')
    FROM (
        SELECT gen_random_uuid() AS event_id, g.customer_id::text AS key,
               jsonb_build_object('order_id', g.id, 'order_no', g.order_no,
                                  'customer_id', g.customer_id, 'order_date', g.order_date,
                                  'settlement', g.settlement,
                                  'total_amount', g.total_amount::numeric(16, 2)::text,
                                  'total_quantity', g.total_quantity, 'lines', g.lines) AS data
        FROM grouped g JOIN new_orders n ON n.id = g.id
        ORDER BY g.customer_id, g.order_date
    ) e
)
SELECT coalesce(sum(g.line_count), 0) FROM grouped g JOIN new_orders n ON n.id = g.id
"""


async def merge_orders(session: AsyncSession, job_id: uuid.UUID, actor: str, timeout: float) -> int:
    """Insert the orders no order number holds yet, their lines and `order.placed` events;
    the number of lines written (orders already stored are skipped whole)."""
    connection = await driver(session)
    written = await connection.fetchval(MERGE_ORDERS, job_id, actor, timeout=timeout)
    await connection.execute(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")
    session.info[OUTBOX_WRITTEN] = True
    return int(written or 0)
