"""Valuation: event aggregates, value models (version 1 seeded), runs, results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from valuation_svc.valuation.model_rules import default_model

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("county", sa.String(50), nullable=False),
        sa.Column("district", sa.String(50)),
        sa.Column("market_type", sa.String(20), nullable=False),
        sa.Column("manager_id", sa.Uuid()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("licensed_on", sa.Date()),
        sa.Column("self_operated", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("order_method", sa.String(20)),
        sa.Column("trading_area", sa.String(40)),
        sa.Column("business_format", sa.String(40)),
        sa.Column("business_hours", sa.Float()),
        sa.Column("display_form", sa.String(40)),
        sa.Column("renown", sa.String(20)),
        sa.Column("reputation", sa.String(20)),
        sa.Column("compliance_grade", sa.String(10)),
        sa.Column("price_labeling", sa.String(20)),
        sa.Column("display_sku_count", sa.Integer()),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_shops_county", "shops", ["county"])
    op.create_index("ix_shops_manager_id", "shops", ["manager_id"])
    op.create_table(
        "shop_orders",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("order_date", sa.Date()),
        sa.Column("month", sa.Date()),
        sa.Column("cartons", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False, server_default="0"),
        sa.Column("gross_profit", sa.Numeric(16, 2), nullable=False, server_default="0"),
        sa.Column("e_settled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("promoted_cartons", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("key_skus", pg.ARRAY(sa.String(64)), nullable=False, server_default="{}"),
        sa.Column("key_cartons", pg.ARRAY(sa.BigInteger()), nullable=False, server_default="{}"),
        sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Recomputing a month's last order date after a cancellation reads this index only.
    op.create_index(
        "ix_shop_orders_customer_id_month", "shop_orders", ["customer_id", "month", "order_date"]
    )
    op.create_table(
        "shop_months",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("cartons", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False, server_default="0"),
        sa.Column("gross_profit", sa.Numeric(16, 2), nullable=False, server_default="0"),
        sa.Column("orders", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("e_orders", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("e_amount", sa.Numeric(16, 2), nullable=False, server_default="0"),
        sa.Column("promoted_cartons", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_order_date", sa.Date()),
    )
    # Sales anomalies list one month across shops.
    op.create_index("ix_shop_months_month", "shop_months", ["month"])
    # Key-brand SKUs per shop and half-year: cartons per SKU (a cancellation can bring one back
    # to 0) and the running count of SKUs with cartons > 0, so a run reads one integer per shop.
    op.create_table(
        "shop_period_skus",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("cartons", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "shop_periods",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("key_skus", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("complainant_type", sa.String(20)),
        sa.Column("filed_on", sa.Date()),
        sa.Column("open", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_complaints_customer_id", "complaints", ["customer_id"])
    op.create_table(
        "violations",
        sa.Column("violation_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
    )
    op.create_index("ix_violations_customer_id", "violations", ["customer_id"])
    value_models = op.create_table(
        "value_models",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("definition", pg.JSONB(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    # At most one active model.
    op.create_index(
        "ux_value_models_active",
        "value_models",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.bulk_insert(
        value_models,
        [
            {
                "version": 1,
                "definition": default_model(),
                "active": True,
                "note": "default model (spec/valuation.md)",
                "created_by": "migration",
            }
        ],
    )
    op.create_table(
        "valuation_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("county", sa.String(50)),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(40)),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("model_version", sa.Integer()),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("evaluated", sa.Integer()),
        sa.Column("changed", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("summary", pg.JSONB()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    # No two unfinished runs of one period and county (the 409 rule, enforced by the database).
    op.create_index(
        "ux_valuation_runs_unfinished",
        "valuation_runs",
        ["period", sa.text("coalesce(county, '')")],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index(
        "ix_valuation_runs_period_completed", "valuation_runs", ["period", "completed_at"]
    )
    op.create_index(
        "ix_valuation_runs_queued",
        "valuation_runs",
        ["created_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_table(
        "valuation_results",
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("county", sa.String(50), nullable=False),
        sa.Column("market_type", sa.String(20), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("value_class", sa.String(8), nullable=False),
        sa.Column("quadrant", sa.String(12), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=False),
        sa.Column("current_value", sa.Float(), nullable=False),
        sa.Column("potential_value", sa.Float(), nullable=False),
        sa.Column("credit_score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("rank_class", sa.String(8), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        # float64 little-endian vectors (5 dimensions; 21 indicators in the fixed order, NaN =
        # excluded): packed by numpy, so writing a million results costs no per-float work.
        sa.Column("dimensions", sa.LargeBinary(), nullable=False),
        sa.Column("scores", sa.LargeBinary(), nullable=False),
        sa.Column("inputs", sa.LargeBinary(), nullable=False),
    )
    # A shop's latest result and history.
    op.create_index("ix_valuation_results_customer_id", "valuation_results", ["customer_id"])
    op.create_table(
        "run_groups",
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("county", sa.String(50), primary_key=True),
        sa.Column("market_type", sa.String(20), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("log2max_volume", sa.Float(), nullable=False),
        sa.Column("log2max_amount", sa.Float(), nullable=False),
        sa.Column("log2max_profit", sa.Float(), nullable=False),
        sa.Column("total_volume", sa.Float(), nullable=False),
        sa.Column("total_amount", sa.Float(), nullable=False),
        sa.Column("cutoff_current", sa.Float(), nullable=False),
        sa.Column("cutoff_potential", sa.Float(), nullable=False),
        sa.Column("promoted_20th", sa.Float(), nullable=False),
        sa.Column("promoted_100th", sa.Float(), nullable=False),
    )
    op.create_table(
        "shop_latest",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("value_class", sa.String(8), nullable=False),
        sa.Column("quadrant", sa.String(12), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "shop_latest",
        "run_groups",
        "valuation_results",
        "valuation_runs",
        "value_models",
        "violations",
        "complaints",
        "shop_periods",
        "shop_period_skus",
        "shop_months",
        "shop_orders",
        "shops",
    ):
        op.drop_table(table)
