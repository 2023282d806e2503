"""majordome state and history per telescope

Revision ID: 19e99fb5ea36
Revises: e6d3dd51173b
Create Date: 2026-11-25 21:40:42.171533
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "19e99fb5ea36"
down_revision: str | None = "e6d3dd51173b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the existing row and history are the single telescope's, the default one
    with op.batch_alter_table("majordome_history", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telescope", sa.String(length=64), server_default="main", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_majordome_history_telescope"), ["telescope"], unique=False
        )

    with op.batch_alter_table("majordome_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telescope", sa.String(length=64), server_default="main", nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_majordome_state_telescope"), ["telescope"])


def downgrade() -> None:
    with op.batch_alter_table("majordome_state", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_majordome_state_telescope"), type_="unique")
        batch_op.drop_column("telescope")

    with op.batch_alter_table("majordome_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_majordome_history_telescope"))
        batch_op.drop_column("telescope")
