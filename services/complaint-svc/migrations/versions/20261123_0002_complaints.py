"""Complaints, timeline, case analyses and the shop read model.

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

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE complaint_ref_seq")
    op.create_table(
        "complaints",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True)),
        sa.Column("customer_verified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("county", sa.String(100)),
        sa.Column("district", sa.String(100)),
        sa.Column("complainant_type", sa.String(16), nullable=False),
        sa.Column("complainant_name", sa.String(100)),
        sa.Column("complainant_phone", sa.String(32)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("service_item", sa.String(64), nullable=False),
        sa.Column("company_responsible", sa.Boolean, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("received_by", sa.String(100), nullable=False),
        sa.Column("assignee", sa.String(100)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_repeat", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("repeat_of", UUID(as_uuid=True)),
        sa.Column("filed_at", TZ, nullable=False),
        sa.Column("filed_month", sa.Date, nullable=False),
        sa.Column("acknowledge_due_at", TZ, nullable=False),
        sa.Column("resolve_due_at", TZ, nullable=False),
        sa.Column("acknowledged_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("acknowledge_escalated_at", TZ),
        sa.Column("resolve_escalated_at", TZ),
        sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("callback_satisfied", sa.Boolean),
        sa.Column("resolution", sa.Text),
        sa.Column("root_cause", sa.Text),
        sa.Column("reopen_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reassignment_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("seq", name="uq_complaints_seq"),
        sa.UniqueConstraint("ref", name="uq_complaints_ref"),
    )
    # Repeat detection: same shop + category in the last 30 days.
    op.create_index(
        "ix_complaints_customer_category_filed",
        "complaints",
        ["customer_id", "category", "filed_at"],
    )
    # Window analytics (repeat rate, concentration, overview) scan by filing time.
    op.create_index(
        "ix_complaints_filed_at",
        "complaints",
        ["filed_at", "is_repeat", "service_item", "category"],
    )
    # Complaint rate numerator: company-responsible retailer complaints by time, covering the shop.
    op.create_index(
        "ix_complaints_rate",
        "complaints",
        ["filed_at", "customer_id"],
        postgresql_where=sa.text("complainant_type = 'retailer' AND company_responsible"),
    )
    # Trend numerator: distinct (month, shop) pairs read in index order, no hashing.
    op.create_index(
        "ix_complaints_rate_month",
        "complaints",
        ["filed_month", "customer_id"],
        postgresql_where=sa.text("complainant_type = 'retailer' AND company_responsible"),
    )
    # Sweeper: only complaints whose breach has not been escalated yet.
    op.create_index(
        "ix_complaints_acknowledge_pending",
        "complaints",
        ["acknowledge_due_at"],
        postgresql_where=sa.text("acknowledge_escalated_at IS NULL AND status = 'received'"),
    )
    op.create_index(
        "ix_complaints_resolve_pending",
        "complaints",
        ["resolve_due_at"],
        postgresql_where=sa.text(
            "resolve_escalated_at IS NULL AND status IN ('received', 'assigned', 'in_progress')"
        ),
    )
    op.create_index(
        "ix_complaints_repeat_of",
        "complaints",
        ["repeat_of"],
        postgresql_where=sa.text("repeat_of IS NOT NULL"),
    )
    op.create_index(
        "ix_complaints_overdue", "complaints", ["seq"], postgresql_where=sa.text("overdue")
    )
    op.create_index("ix_complaints_assignee", "complaints", ["assignee", "seq"])
    op.create_index("ix_complaints_received_by", "complaints", ["received_by", "seq"])
    op.create_index("ix_complaints_status", "complaints", ["status", "seq"])

    op.create_table(
        "complaint_timeline",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", UUID(as_uuid=True), nullable=False),
        sa.Column("at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("details", JSONB),
    )
    op.create_index("ix_complaint_timeline_complaint", "complaint_timeline", ["complaint_id", "id"])

    op.create_table(
        "complaint_case_analyses",
        sa.Column("complaint_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("reconstruction", sa.Text, nullable=False),
        sa.Column("key_points", JSONB, nullable=False),
        sa.Column("root_causes", JSONB, nullable=False),
        sa.Column("countermeasures", JSONB, nullable=False),
        sa.Column("responsible_parties", JSONB, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )

    op.create_table(
        "shops",
        sa.Column("customer_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("county", sa.String(100)),
        sa.Column("district", sa.String(100)),
        sa.Column("market_type", sa.String(50)),
        sa.Column("trading_area", sa.String(50)),
        sa.Column("business_format", sa.String(50)),
        sa.Column("scale", sa.String(50)),
        sa.Column("order_method", sa.String(50)),
        sa.Column("value_class", sa.String(16)),
        sa.Column("manager_id", UUID(as_uuid=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active_since", sa.Date, nullable=False),
        sa.Column("inactive_since", sa.Date),
        sa.Column("snapshot_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_shops_county_district", "shops", ["county", "district"])
    op.create_index("ix_shops_manager", "shops", ["manager_id"])


def downgrade() -> None:
    op.drop_table("shops")
    op.drop_table("complaint_case_analyses")
    op.drop_table("complaint_timeline")
    op.drop_table("complaints")
    op.execute("DROP SEQUENCE complaint_ref_seq")
