"""Chinese search on shops: bigram index, pinyin and initials (issue 15.4).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from customer_svc.customers.search_terms import search_terms

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

# The character pairs of a shop's search terms with their relevance tier: `^xy` the name begins
# with xy (1), `n:xy` in the name (2), `a:xy` in the address (4), `o:xy` in the owner name (5).
KEYS_OF = """
CREATE FUNCTION customer_search_keys_of(terms text[]) RETURNS TABLE (term text, tier smallint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN left(t, 1) = '^' THEN substr(t, 2) ELSE substr(t, 3) END,
           (CASE left(t, 2) WHEN 'n:' THEN 2 WHEN 'a:' THEN 4 WHEN 'o:' THEN 5 ELSE 1 END)::smallint
    FROM unnest(terms) AS t
    WHERE (left(t, 1) = '^' AND char_length(t) = 3)
       OR (char_length(t) = 4 AND left(t, 2) IN ('n:', 'a:', 'o:'))
$$
"""
# One statement per batch of shops: the keys of the rows of `source` (a table or a transition
# table), each pair once with its best tier.
INSERT_KEYS = """
INSERT INTO customer_search_keys (term, tier, name_length, license_no, customer_id)
SELECT k.term, min(k.tier), char_length(c.name), c.license_no, c.id
FROM {source} AS c CROSS JOIN LATERAL customer_search_keys_of(c.search_terms) AS k
{where}
GROUP BY c.id, c.name, c.license_no, k.term
"""
CHANGED = (
    "n.search_terms IS DISTINCT FROM o.search_terms OR n.name IS DISTINCT FROM o.name"
    " OR n.license_no IS DISTINCT FROM o.license_no"
)
# Statement triggers with transition tables: a COPY or a bulk UPDATE of 100,000 shops is one
# INSERT … SELECT here, not 100,000 trigger calls; updates that leave the terms, the name and
# the licence number alone (status, classification) change no key.
SYNC = (
    f"""
CREATE FUNCTION customer_search_keys_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {INSERT_KEYS.format(source="new_rows", where="")};
    RETURN NULL;
END
$$""",
    f"""
CREATE FUNCTION customer_search_keys_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_search_keys k
    USING new_rows n JOIN old_rows o ON o.id = n.id
    WHERE k.customer_id = n.id AND ({CHANGED});
    {
        INSERT_KEYS.format(
            source="new_rows",
            where=f"JOIN old_rows o ON o.id = c.id WHERE {CHANGED.replace('n.', 'c.')}",
        )
    };
    RETURN NULL;
END
$$""",
    """
CREATE TRIGGER customer_search_keys_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_search_keys_inserted()""",
    """
CREATE TRIGGER customer_search_keys_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_search_keys_updated()""",
)


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("search_terms", ARRAY(sa.Text()), nullable=False, server_default="{}"),
    )
    _backfill()
    op.create_table(
        "customer_search_keys",
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("tier", sa.SmallInteger, nullable=False),
        sa.Column("name_length", sa.SmallInteger, nullable=False),
        sa.Column("license_no", sa.String(20), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "term",
            "tier",
            "name_length",
            "license_no",
            "customer_id",
            name="pk_customer_search_keys",
        ),
    )
    op.execute(KEYS_OF)
    op.execute(INSERT_KEYS.format(source="customers", where=""))
    op.create_index("ix_customer_search_keys_customer", "customer_search_keys", ["customer_id"])
    for statement in SYNC:
        op.execute(statement)
    op.create_index(
        "ix_customers_search_terms",
        "customers",
        ["search_terms"],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )
    op.create_index(
        "ix_customers_name_length", "customers", [sa.text("char_length(name)"), "license_no"]
    )


def _backfill() -> None:
    """Terms for the rows already there: keyset batches, one UPDATE … FROM unnest per batch."""
    connection = op.get_bind()
    select = sa.text(
        "SELECT id, name, address, owner_name FROM customers WHERE id > :after ORDER BY id LIMIT :n"
    )
    fill = sa.text(
        "UPDATE customers SET search_terms = batch.terms::text[] "
        "FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, "
        "unnest(CAST(:terms AS text[])) AS terms) AS batch WHERE customers.id = batch.id"
    )
    after = "00000000-0000-0000-0000-000000000000"
    while rows := connection.execute(select, {"after": after, "n": BATCH}).all():
        # unnest of a 2-D array would flatten it: each row's terms travel as one array literal.
        literals = [
            _array_literal(search_terms(name, address, owner)) for _, name, address, owner in rows
        ]
        connection.execute(fill, {"ids": [row[0] for row in rows], "terms": literals})
        after = str(rows[-1][0])


def _array_literal(terms: list[str]) -> str:
    quoted = ('"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"' for term in terms)
    return "{" + ",".join(quoted) + "}"


def downgrade() -> None:
    op.execute("DROP TRIGGER customer_search_keys_update ON customers")
    op.execute("DROP TRIGGER customer_search_keys_insert ON customers")
    op.execute("DROP FUNCTION customer_search_keys_updated()")
    op.execute("DROP FUNCTION customer_search_keys_inserted()")
    op.execute("DROP FUNCTION customer_search_keys_of(text[])")
    op.drop_table("customer_search_keys")
    op.drop_index("ix_customers_name_length", table_name="customers")
    op.drop_index("ix_customers_search_terms", table_name="customers")
    op.drop_column("customers", "search_terms")
