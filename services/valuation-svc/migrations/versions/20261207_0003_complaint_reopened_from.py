"""Consumer complaints count once per grievance: a reopen's repeat row is marked.

complaint-svc records a repeat complaint when it reopens one and announces it with
`complaint.filed` (now carrying `reopened_from`). Counted like an intake, a consumer complaint
reopened after an unsatisfied callback lowered the shop's credit twice. The repeat row is kept
(it is an open complaint for issue handling) with `reopened_from` set, and the credit count
leaves such rows out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("reopened_from", sa.Uuid()))


def downgrade() -> None:
    op.drop_column("complaints", "reopened_from")
