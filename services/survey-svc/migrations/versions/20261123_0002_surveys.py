"""Survey tables: read models, questionnaires (with the seeded ones), campaigns, responses,
callbacks, improvement actions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from survey_svc.questionnaires.catalogue import SEEDED

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUIDT = UUID(as_uuid=True)
TZ = sa.DateTime(timezone=True)


def _created() -> sa.Column[object]:
    return sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "customers_view",
        sa.Column("customer_id", UUIDT, primary_key=True),
        sa.Column("county", sa.String(50)),
        sa.Column("district", sa.String(50)),
        sa.Column("market_type", sa.String(20)),
        sa.Column("manager_id", UUIDT),
        sa.Column("value_class", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_since", sa.Date),
        sa.Column("licensed_on", sa.Date),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    # The sampling frame: active shops of a county.
    op.create_index("ix_customers_view_county_status", "customers_view", ["county", "status"])
    op.create_index("ix_customers_view_manager_id", "customers_view", ["manager_id"])
    op.create_table(
        "complaints_view",
        sa.Column("complaint_id", UUIDT, primary_key=True),
        sa.Column("customer_id", UUIDT),
        sa.Column("complainant_type", sa.String(20), nullable=False),
        sa.Column("company_responsible", sa.Boolean, nullable=False),
        sa.Column("filed_at", TZ, nullable=False),
    )
    op.create_index("ix_complaints_view_filed_at", "complaints_view", ["filed_at"])

    questionnaires = op.create_table(
        "questionnaires",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _created(),
        sa.UniqueConstraint("code", "version", name="uq_questionnaires_code"),
    )
    items = op.create_table(
        "questionnaire_items",
        sa.Column("questionnaire_id", UUIDT, sa.ForeignKey("questionnaires.id"), primary_key=True),
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("dimension", sa.String(30)),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
    )

    op.create_table(
        "survey_campaigns",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("questionnaire_id", UUIDT, sa.ForeignKey("questionnaires.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("method", sa.String(30), nullable=False),
        sa.Column("county", sa.String(50)),
        sa.Column("opens_at", TZ, nullable=False),
        sa.Column("closes_at", TZ, nullable=False),
        sa.Column("sampling", JSONB, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("frame_size", sa.Integer),
        sa.Column("sample_size", sa.Integer),
        sa.Column("created_by", sa.String(200), nullable=False),
        _created(),
        sa.Column("sampled_at", TZ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_survey_campaigns_created_at", "survey_campaigns", ["created_at", "id"])
    op.create_table(
        "campaign_strata",
        sa.Column("campaign_id", UUIDT, sa.ForeignKey("survey_campaigns.id"), primary_key=True),
        sa.Column("stratum_no", sa.Integer, primary_key=True),
        sa.Column("key", JSONB, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("sample_size", sa.Integer, nullable=False),
        sa.Column("fresh_available", sa.Integer, nullable=False),
        sa.Column("drawn_from_recent", sa.Integer, nullable=False),
    )
    op.create_table(
        "campaign_frame",
        sa.Column("campaign_id", UUIDT, sa.ForeignKey("survey_campaigns.id"), primary_key=True),
        sa.Column("customer_id", UUIDT, primary_key=True),
        sa.Column("stratum_no", sa.Integer, nullable=False),
        sa.Column("recently_surveyed", sa.Boolean, nullable=False),
        sa.Column("selected", sa.Boolean, nullable=False),
    )
    op.create_table(
        "survey_invitations",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("campaign_id", UUIDT, sa.ForeignKey("survey_campaigns.id"), nullable=False),
        sa.Column("customer_id", UUIDT, nullable=False),
        sa.Column("token", sa.String(100), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("stratum_no", sa.Integer, nullable=False),
        sa.Column("cell_no", sa.Integer, nullable=False),
        sa.Column("district", sa.String(50)),
        sa.Column("value_class", sa.String(20)),
        sa.Column("manager_id", UUIDT),
        sa.Column("market_type", sa.String(20)),
        _created(),
        sa.Column("completed_at", TZ),
        sa.UniqueConstraint("campaign_id", "customer_id", name="uq_survey_invitations_campaign_id"),
    )
    # The exclusion window looks up each shop's recent invitations.
    op.create_index(
        "ix_survey_invitations_customer_created",
        "survey_invitations",
        ["customer_id", "created_at"],
    )
    op.create_index(
        "ix_survey_invitations_campaign_id", "survey_invitations", ["campaign_id", "id"]
    )
    # A cell = the invitations sharing a stratum and every group attribute; results read the
    # per-cell sums kept up to date by each response, never the answers themselves.
    op.create_table(
        "campaign_cells",
        sa.Column("campaign_id", UUIDT, sa.ForeignKey("survey_campaigns.id"), primary_key=True),
        sa.Column("cell_no", sa.Integer, primary_key=True),
        sa.Column("stratum_no", sa.Integer, nullable=False),
        sa.Column("district", sa.String(50)),
        sa.Column("value_class", sa.String(20)),
        sa.Column("manager_id", UUIDT),
        sa.Column("market_type", sa.String(20)),
        sa.Column("invited", sa.Integer, nullable=False),
        sa.Column("responded", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "result_cells",
        sa.Column("campaign_id", UUIDT, primary_key=True),
        sa.Column("cell_no", sa.Integer, primary_key=True),
        sa.Column("item_code", sa.String(100), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("sum_e", sa.BigInteger, nullable=False),
        sa.Column("sum_p", sa.BigInteger, nullable=False),
        sa.Column("sum_g", sa.BigInteger, nullable=False),
        sa.Column("sum_g2", sa.BigInteger, nullable=False),
        *(sa.Column(f"score_{score}", sa.Integer, nullable=False) for score in range(1, 6)),
    )

    op.create_table(
        "survey_responses",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("invitation_id", UUIDT, sa.ForeignKey("survey_invitations.id"), unique=True),
        sa.Column("callback_id", UUIDT, unique=True),
        sa.Column("campaign_id", UUIDT),
        sa.Column("customer_id", UUIDT),
        sa.Column("questionnaire_id", UUIDT, nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("collected_by", sa.String(200)),
        sa.Column("recorded_by", sa.String(200)),
        sa.Column("overall_gap", sa.Float),
        sa.Column("satisfaction_index", sa.Float),
        _created(),
    )
    op.create_index("ix_survey_responses_created_at", "survey_responses", ["created_at"])
    op.create_table(
        "survey_answers",
        sa.Column("response_id", UUIDT, sa.ForeignKey("survey_responses.id"), primary_key=True),
        sa.Column("item_code", sa.String(100), primary_key=True),
        sa.Column("campaign_id", UUIDT),
        sa.Column("cell_no", sa.Integer),
        sa.Column("expectation", sa.SmallInteger),
        sa.Column("perception", sa.SmallInteger),
        sa.Column("score", sa.SmallInteger),
        sa.Column("flag", sa.Boolean),
        sa.Column("text", sa.String(2000)),
    )
    # Rebuilding a campaign's result cells reads its answers.
    op.create_index("ix_survey_answers_campaign_id", "survey_answers", ["campaign_id"])

    op.create_table(
        "callbacks",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("complaint_id", UUIDT, nullable=False, unique=True),
        sa.Column("customer_id", UUIDT),
        sa.Column("questionnaire_id", UUIDT, sa.ForeignKey("questionnaires.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resolved_at", TZ, nullable=False),
        sa.Column("response_id", UUIDT),
        sa.Column("satisfied", sa.Boolean),
        _created(),
        sa.Column("completed_at", TZ),
    )
    # The call centre's work queue: pending callbacks, oldest due first.
    op.create_index("ix_callbacks_status_due", "callbacks", ["status", "due_at", "id"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("callback_id", UUIDT, sa.ForeignKey("callbacks.id"), nullable=False),
        sa.Column("attempted_by", sa.String(200), nullable=False),
        sa.Column("note", sa.String(1000)),
        sa.Column("attempted_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_callback_attempts_callback_id", "callback_attempts", ["callback_id"])
    op.create_table(
        "improvement_actions",
        sa.Column("id", UUIDT, primary_key=True),
        sa.Column("campaign_id", UUIDT, sa.ForeignKey("survey_campaigns.id"), nullable=False),
        sa.Column("item_code", sa.String(100)),
        sa.Column("dimension", sa.String(30)),
        sa.Column("action", sa.String(2000), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.String(2000)),
        sa.Column("created_by", sa.String(200), nullable=False),
        _created(),
        sa.Column("done_at", TZ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index(
        "ix_improvement_actions_campaign", "improvement_actions", ["campaign_id", "created_at"]
    )

    # The seeded questionnaires, version 1, with stable ids (idempotent by construction).
    op.bulk_insert(
        questionnaires,
        [
            {
                "id": seed.id,
                "code": seed.code,
                "version": 1,
                "title": seed.title,
                "created_by": "seed",
            }
            for seed in SEEDED
        ],
    )
    op.bulk_insert(
        items,
        [
            {
                "questionnaire_id": seed.id,
                "code": item.code,
                "position": position,
                "text": item.text,
                "dimension": item.dimension,
                "format": item.format,
                "required": item.required,
            }
            for seed in SEEDED
            for position, item in enumerate(seed.items)
        ],
    )


def downgrade() -> None:
    for table in (
        "improvement_actions",
        "callback_attempts",
        "callbacks",
        "survey_answers",
        "survey_responses",
        "result_cells",
        "campaign_cells",
        "survey_invitations",
        "campaign_frame",
        "campaign_strata",
        "survey_campaigns",
        "questionnaire_items",
        "questionnaires",
        "complaints_view",
        "customers_view",
    ):
        op.drop_table(table)
