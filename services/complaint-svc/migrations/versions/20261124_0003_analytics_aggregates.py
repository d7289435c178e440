"""Complaint analytics pre-aggregation: shop complaint months, month counters, their triggers.

- `shops.complaint_months`: per shop, one 12-bit mask per calendar year (array subscript = the
  year) of the months with at least one company-responsible retailer complaint. Complaint rate
  and trend numerators read it from the shop row instead of hashing the distinct complaining
  shops of ~500,000 complaints. Written per shop (no row shared between shops), placeholder
  shop rows are created for complaints about shops the read model does not know yet.
- `complaint_month_counts`: complaints per month x county x district x category x service item x
  repeat flag (repeat rate and concentration). Never written by intake: changes append rows to
  `complaint_count_deltas` (no key, no index, so concurrent intakes never wait on each other) and
  the analytics read path folds the deltas into the counters.
- Statement triggers on `complaints` keep both exact in the changing transaction, for inserts,
  deletes and updates of any field the analytics use; `complaint_analytics_rebuild()` recomputes
  everything from the raw rows (the backfill below, and a repair tool).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The complaints that count in the complaint rate (complaints.md "Analytics").
_QUALIFYING = "complainant_type = 'retailer' AND company_responsible AND customer_id IS NOT NULL"
_GROUP = "county, district, category, service_item, is_repeat"
# Advisory lock of the counters' maintenance (analytics/repository.py FOLD_LOCK, same value).
ADVISORY_KEY = 0x636F6D706C4D43
# The fields of a complaint the pre-aggregation depends on.
_TRACKED = (
    "filed_month",
    "county",
    "district",
    "category",
    "service_item",
    "is_repeat",
    "customer_id",
    "complainant_type",
    "company_responsible",
)


def _fields(alias: str) -> str:
    return ", ".join(f"{alias}.{field}" for field in _TRACKED)


# Rows of an UPDATE statement whose tracked fields changed: the old version with -1, the new +1.
_MOVED = f"""
    SELECT -1 AS sign, o.* FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
     WHERE ({_fields("o")}) IS DISTINCT FROM ({_fields("n")})
    UNION ALL
    SELECT 1 AS sign, n.* FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
     WHERE ({_fields("o")}) IS DISTINCT FROM ({_fields("n")})
"""

# One statement each (asyncpg runs one command per execute).
_FUNCTIONS = (
    """
-- Set the bits of (shop, month) pairs; a shop missing from the read model gets a placeholder row
-- (never active, like valuation placeholders) that the customer snapshot later fills in.
CREATE FUNCTION complaint_months_add(customers uuid[], months date[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    year_of integer;
BEGIN
    FOR year_of IN
        SELECT DISTINCT date_part('year', m)::int FROM unnest(months) AS m ORDER BY 1
    LOOP
        INSERT INTO shops AS s (customer_id, status, active_since, snapshot_version,
                                complaint_months)
        SELECT k.customer_id, 'unknown', DATE '9999-12-31', -1,
               array_fill(bit_or(1 << (date_part('month', k.month)::int - 1)),
                          ARRAY[1], ARRAY[year_of])
          FROM unnest(customers, months) AS k(customer_id, month)
         WHERE date_part('year', k.month) = year_of
         GROUP BY k.customer_id
         ORDER BY k.customer_id
        ON CONFLICT (customer_id) DO UPDATE
           SET complaint_months[year_of] =
                   coalesce(s.complaint_months[year_of], 0) | excluded.complaint_months[year_of]
         WHERE coalesce(s.complaint_months[year_of], 0) | excluded.complaint_months[year_of]
               <> coalesce(s.complaint_months[year_of], 0);
    END LOOP;
END $$;
""",
    """
-- Recompute the masks of (shop, year) pairs from the raw rows (after complaints stopped
-- counting for a month). The rows are locked first, so the recount, a later statement with a
-- newer snapshot, sees every complaint committed by a transaction that set a bit meanwhile.
CREATE FUNCTION complaint_months_recount(customers uuid[], years integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    year_of integer;
BEGIN
    PERFORM 1 FROM shops WHERE customer_id = ANY(customers) ORDER BY customer_id FOR UPDATE;
    FOR year_of IN SELECT DISTINCT y FROM unnest(years) AS y ORDER BY 1 LOOP
        UPDATE shops AS s
           SET complaint_months[year_of] = (
                   SELECT coalesce(bit_or(1 << (date_part('month', c.filed_month)::int - 1)), 0)
                     FROM complaints AS c
                    WHERE c.customer_id = s.customer_id AND c.complainant_type = 'retailer'
                      AND c.company_responsible
                      AND c.filed_month >= make_date(year_of, 1, 1)
                      AND c.filed_month < make_date(year_of + 1, 1, 1))
         WHERE s.customer_id IN (SELECT k.customer_id
                                   FROM unnest(customers, years) AS k(customer_id, year)
                                  WHERE k.year = year_of);
    END LOOP;
END $$;
""",
    f"""
CREATE FUNCTION complaint_analytics_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO complaint_count_deltas (month, {_GROUP}, complaints)
    SELECT filed_month, {_GROUP}, count(*) FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6;
    PERFORM complaint_months_add(array_agg(customer_id), array_agg(filed_month))
       FROM new_rows WHERE {_QUALIFYING} HAVING count(*) > 0;
    RETURN NULL;
END $$;
""",
    f"""
CREATE FUNCTION complaint_analytics_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO complaint_count_deltas (month, {_GROUP}, complaints)
    SELECT filed_month, {_GROUP}, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6;
    PERFORM complaint_months_recount(array_agg(customer_id),
                                     array_agg(date_part('year', filed_month)::int))
       FROM old_rows WHERE {_QUALIFYING} HAVING count(*) > 0;
    RETURN NULL;
END $$;
""",
    f"""
-- Fires for every UPDATE statement (transition tables rule out a column list); only rows whose
-- tracked fields changed move anything, so status changes and sweeps stop at the first check.
CREATE FUNCTION complaint_analytics_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                    WHERE ({_fields("o")}) IS DISTINCT FROM ({_fields("n")})) THEN
        RETURN NULL;
    END IF;
    INSERT INTO complaint_count_deltas (month, {_GROUP}, complaints)
    SELECT filed_month, {_GROUP}, sum(sign) FROM ({_MOVED}) AS moved
     GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(sign) <> 0;
    PERFORM complaint_months_add(array_agg(customer_id), array_agg(filed_month))
       FROM ({_MOVED}) AS moved WHERE sign = 1 AND {_QUALIFYING} HAVING count(*) > 0;
    PERFORM complaint_months_recount(array_agg(customer_id),
                                     array_agg(date_part('year', filed_month)::int))
       FROM ({_MOVED}) AS moved WHERE sign = -1 AND {_QUALIFYING} HAVING count(*) > 0;
    RETURN NULL;
END $$;
""",
    f"""
-- Everything from the raw rows: the migration's backfill, bulk loads, repairs.
CREATE FUNCTION complaint_analytics_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- No complaint changes meanwhile (SHARE lets readers through); one rebuild at a time with
    -- the read path's folding of deltas (the same advisory lock).
    LOCK TABLE complaints IN SHARE MODE;
    PERFORM pg_advisory_xact_lock({ADVISORY_KEY});
    DELETE FROM complaint_count_deltas;
    DELETE FROM complaint_month_counts;
    INSERT INTO complaint_month_counts (month, {_GROUP}, complaints)
    SELECT filed_month, {_GROUP}, count(*) FROM complaints GROUP BY 1, 2, 3, 4, 5, 6;
    -- Each shop row is written at most once, and only when its masks differ.
    CREATE TEMP TABLE complaint_months_rebuilt ON COMMIT DROP AS
    WITH per_year AS (
        SELECT customer_id, date_part('year', filed_month)::int AS year,
               bit_or(1 << (date_part('month', filed_month)::int - 1)) AS mask
          FROM complaints WHERE {_QUALIFYING} GROUP BY 1, 2
    ), spans AS (
        SELECT customer_id, min(year) AS first_year, max(year) AS last_year
          FROM per_year GROUP BY 1
    ), listed AS (
        SELECT spans.customer_id, spans.first_year,
               array_agg(coalesce(per_year.mask, 0) ORDER BY years.year) AS masks
          FROM spans
         CROSS JOIN LATERAL generate_series(spans.first_year, spans.last_year) AS years(year)
          LEFT JOIN per_year
            ON per_year.customer_id = spans.customer_id AND per_year.year = years.year
         GROUP BY 1, 2
    )
    -- Subscripts are the years: the first element carries the lower bound.
    SELECT customer_id,
           array_fill(masks[1], ARRAY[1], ARRAY[first_year]) || masks[2:] AS complaint_months
      FROM listed;
    UPDATE shops AS s SET complaint_months = NULL
     WHERE s.complaint_months IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM complaint_months_rebuilt AS r
                        WHERE r.customer_id = s.customer_id);
    INSERT INTO shops AS s (customer_id, status, active_since, snapshot_version, complaint_months)
    SELECT customer_id, 'unknown', DATE '9999-12-31', -1, complaint_months
      FROM complaint_months_rebuilt ORDER BY customer_id
    ON CONFLICT (customer_id) DO UPDATE SET complaint_months = excluded.complaint_months
     WHERE s.complaint_months IS DISTINCT FROM excluded.complaint_months;
END $$;
""",
)


_TRIGGERS = (
    ("INSERT", "NEW TABLE AS new_rows", "complaint_analytics_inserted"),
    ("DELETE", "OLD TABLE AS old_rows", "complaint_analytics_deleted"),
    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "complaint_analytics_updated"),
)


def upgrade() -> None:
    op.add_column("shops", sa.Column("complaint_months", sa.ARRAY(sa.Integer)))
    for table in ("complaint_month_counts", "complaint_count_deltas"):
        op.create_table(
            table,
            sa.Column("month", sa.Date, nullable=False),
            sa.Column("county", sa.String(100)),
            sa.Column("district", sa.String(100)),
            sa.Column("category", sa.String(64), nullable=False),
            sa.Column("service_item", sa.String(64), nullable=False),
            sa.Column("is_repeat", sa.Boolean, nullable=False),
            sa.Column("complaints", sa.Integer, nullable=False),
        )
    # One counter per group (a NULL county / district is a group of its own); leading `month`
    # serves the window's range scans.
    op.execute(
        f"""CREATE UNIQUE INDEX uq_complaint_month_counts ON complaint_month_counts
            (month, {_GROUP}) NULLS NOT DISTINCT"""
    )
    for statement in _FUNCTIONS:
        op.execute(statement)
    for event, tables, function in _TRIGGERS:
        op.execute(
            f"""CREATE TRIGGER complaints_analytics_{event.lower()} AFTER {event} ON complaints
                REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"""
        )
    # Backfill the existing complaints.
    op.execute("SELECT complaint_analytics_rebuild()")


def downgrade() -> None:
    # Placeholder shop rows created for complaints stay (never active, like valuation's).
    for event, _, _ in _TRIGGERS:
        op.execute(f"DROP TRIGGER complaints_analytics_{event.lower()} ON complaints")
    for function in (
        "complaint_analytics_rebuild()",
        "complaint_analytics_updated()",
        "complaint_analytics_deleted()",
        "complaint_analytics_inserted()",
        "complaint_months_recount(uuid[], integer[])",
        "complaint_months_add(uuid[], date[])",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("complaint_count_deltas")
    op.drop_table("complaint_month_counts")
    op.drop_column("shops", "complaint_months")
