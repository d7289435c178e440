"""Bulk import jobs, staging and manager lifecycle (issue 15.1).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("file_name", sa.String(300)),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("encoding", sa.String(20)),
        sa.Column("columns", sa.ARRAY(sa.String(50)), nullable=False, server_default="{}"),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("county_scope", sa.String(20)),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_valid", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_imported", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("detail", sa.String(1000)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_import_jobs_queued",
        "import_jobs",
        ["created_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    # Staged rows of queued jobs (deleted by the merge): no index, the merge reads a job's rows
    # once, and an index would cost more to build during the COPY than it saves.
    op.create_table(
        "import_rows",
        sa.Column("job_id", UUID(as_uuid=True), nullable=False),
        sa.Column("row_no", sa.Integer, nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_table(
        "import_errors",
        sa.Column("job_id", UUID(as_uuid=True), sa.ForeignKey("import_jobs.id"), nullable=False),
        sa.Column("row_no", sa.Integer, nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
    )
    op.create_index("ix_import_errors_job", "import_errors", ["job_id", "row_no"])

    op.add_column("managers", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("managers", sa.Column("retired_at", sa.DateTime(timezone=True)))
    op.add_column("managers", sa.Column("retired_by", sa.String(200)))
    op.add_column("managers", sa.Column("updated_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("updated_at", "retired_by", "retired_at", "version"):
        op.drop_column("managers", column)
    op.drop_table("import_errors")
    op.drop_table("import_rows")
    op.drop_index("ix_import_jobs_queued", table_name="import_jobs")
    op.drop_table("import_jobs")
