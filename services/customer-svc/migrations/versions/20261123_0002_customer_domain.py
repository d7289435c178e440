"""Customer domain: managers, shops with versions, violations, classifications, orders, visits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "managers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("employee_no", sa.String(30), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("county", sa.String(20), nullable=False),
        sa.Column("districts", sa.ARRAY(sa.String(50)), nullable=False, server_default="{}"),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("employee_no", name="uq_managers_employee_no"),
    )
    op.create_index("ix_managers_county", "managers", ["county"])

    op.create_table(
        "customers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("license_no", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_name", sa.String(100)),
        sa.Column("phones", sa.ARRAY(sa.String(30)), nullable=False, server_default="{}"),
        sa.Column("address", sa.String(500)),
        sa.Column("county", sa.String(20), nullable=False),
        sa.Column("district", sa.String(50)),
        sa.Column("market_type", sa.String(10), nullable=False),
        sa.Column("trading_area", sa.String(30)),
        sa.Column("business_format", sa.String(30)),
        sa.Column("scale", sa.String(10)),
        sa.Column("order_method", sa.String(10)),
        sa.Column("business_hours", sa.Float),
        sa.Column("display_form", sa.String(30)),
        sa.Column("display_sku_count", sa.Integer),
        sa.Column("renown", sa.String(20)),
        sa.Column("reputation", sa.String(20)),
        sa.Column("compliance_grade", sa.String(10)),
        sa.Column("price_labeling", sa.String(20)),
        sa.Column("store_area_m2", sa.Float),
        sa.Column("tobacco_area_m2", sa.Float),
        sa.Column("self_operated", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("licensed_on", sa.Date),
        sa.Column("status", sa.String(10), nullable=False, server_default="active"),
        sa.Column("manager_id", UUID(as_uuid=True), sa.ForeignKey("managers.id")),
        sa.Column("birthday", sa.Date),
        sa.Column("hobbies", sa.String(500)),
        sa.Column("personal_data_consent", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("personal_data_erased_at", sa.DateTime(timezone=True)),
        sa.Column("value_class", sa.String(10)),
        sa.Column("value_quadrant", sa.String(20)),
        sa.Column("value_period", sa.String(20)),
        sa.Column("classified_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("license_no", name="uq_customers_license_no"),
    )
    op.create_index("ix_customers_manager", "customers", ["manager_id"])
    op.create_index("ix_customers_county_district", "customers", ["county", "district"])
    op.create_index("ix_customers_phones", "customers", ["phones"], postgresql_using="gin")
    op.create_index("ix_customers_value_class", "customers", ["value_class"])

    op.create_table(
        "customer_versions",
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id")),
        sa.Column("version", sa.Integer),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.Column("change_kind", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_fields", sa.ARRAY(sa.String(50)), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("reason", sa.String(1000)),
        sa.Column("effective_date", sa.Date),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "version", name="pk_customer_versions"),
    )
    op.create_index(
        "ix_customer_versions_valid_from", "customer_versions", ["customer_id", "valid_from"]
    )

    op.create_table(
        "violations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_violations_customer", "violations", ["customer_id", "occurred_on"])

    op.create_table(
        "classifications",
        sa.Column("customer_id", UUID(as_uuid=True)),
        sa.Column("period", sa.String(20)),
        sa.Column("run_id", UUID(as_uuid=True), nullable=False),
        sa.Column("value_class", sa.String(10), nullable=False),
        sa.Column("quadrant", sa.String(20)),
        sa.Column("total_score", sa.Float, nullable=False),
        sa.Column("credit_score", sa.Float),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("customer_id", "period", name="pk_classifications"),
    )

    op.create_table(
        "manager_assignments",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("manager_id", UUID(as_uuid=True)),
        sa.Column("previous_manager_id", UUID(as_uuid=True)),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_manager_assignments_customer", "manager_assignments", ["customer_id", "id"])

    op.create_table(
        "orders",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("order_date", sa.Date, nullable=False),
        sa.Column("settlement", sa.String(15), nullable=False),
        sa.Column("total_amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("total_quantity", sa.Integer, nullable=False),
        sa.Column("line_count", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="placed"),
        sa.Column("cancel_reason", sa.String(1000)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_by", sa.String(200)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("order_no", name="uq_orders_order_no"),
    )
    op.create_index("ix_orders_customer_date", "orders", ["customer_id", "order_date"])

    op.create_table(
        "order_lines",
        sa.Column("order_id", UUID(as_uuid=True), sa.ForeignKey("orders.id")),
        sa.Column("line_no", sa.SmallInteger),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("gross_profit", sa.Numeric(16, 2), nullable=False),
        sa.Column("key_brand", sa.Boolean, nullable=False),
        sa.Column("promoted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_no", name="pk_order_lines"),
    )

    op.create_table(
        "visits",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("manager_id", UUID(as_uuid=True), sa.ForeignKey("managers.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Float, nullable=False),
        sa.Column("purpose", sa.String(30), nullable=False),
        sa.Column("checklist", JSONB, nullable=False),
        sa.Column("findings", sa.Text),
        sa.Column("customer_requests", sa.Text),
        sa.Column("follow_ups", sa.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("perfunctory", sa.Boolean, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_visits_manager_started", "visits", ["manager_id", "started_at"])
    op.create_index("ix_visits_customer_started", "visits", ["customer_id", "started_at"])


def downgrade() -> None:
    for table in (
        "visits",
        "order_lines",
        "orders",
        "manager_assignments",
        "classifications",
        "violations",
        "customer_versions",
        "customers",
        "managers",
    ):
        op.drop_table(table)
