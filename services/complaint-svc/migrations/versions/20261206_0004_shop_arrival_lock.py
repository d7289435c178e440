"""A complaint and its shop's arrival in the read model never miss each other.

Intake reads the shop from the read model, then inserts the complaint; the customer snapshot
handler upserts the shop, then verifies the shop's complaints (`mark_verified`). Interleaved —
the snapshot committed between intake's read and its insert — each missed the other and the
complaint stayed unverified, without county, for good (found by the end-to-end complaint flow).

Both now hold the shop's advisory lock: the handler exclusively, from before its upsert to its
commit (`lock_shop_snapshot`); an insert of a complaint not verified by its writer shared, in a
row trigger that then reads the shop afresh (a trigger's queries take a new snapshot) and fills
county, district and the verified flag from a known shop. Whichever comes second sees the first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The two-key advisory lock space (apart from the relay's one-key locks): (namespace, shop).
_SHOP_KEY = "24075, hashtext(customer::text)"


def upgrade() -> None:
    op.execute(
        f"""
CREATE FUNCTION lock_shop_snapshot(customer uuid) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock({_SHOP_KEY})
$$"""
    )
    op.execute(
        f"""
CREATE FUNCTION complaint_shop_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    customer uuid := NEW.customer_id;
    shop record;
BEGIN
    -- Waits for a snapshot of this shop being applied, then reads what it committed.
    PERFORM pg_advisory_xact_lock_shared({_SHOP_KEY});
    SELECT s.county, s.district INTO shop
      FROM shops AS s WHERE s.customer_id = customer AND s.snapshot_version >= 0;
    IF FOUND THEN
        NEW.customer_verified := true;
        NEW.county := shop.county;
        NEW.district := shop.district;
    END IF;
    RETURN NEW;
END $$"""
    )
    op.execute(
        """
CREATE TRIGGER complaints_shop_facts BEFORE INSERT ON complaints FOR EACH ROW
WHEN (NEW.customer_id IS NOT NULL AND NOT NEW.customer_verified)
EXECUTE FUNCTION complaint_shop_facts()"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER complaints_shop_facts ON complaints")
    op.execute("DROP FUNCTION complaint_shop_facts()")
    op.execute("DROP FUNCTION lock_shop_snapshot(uuid)")
