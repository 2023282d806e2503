"""operator commands and images per telescope

Revision ID: 832402460957
Revises: 19e99fb5ea36
Create Date: 2026-11-26 00:39:36.999583
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "832402460957"
down_revision: str | None = "19e99fb5ea36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the existing rows were the single telescope's, the default one
    with op.batch_alter_table("command", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telescope", sa.String(length=64), server_default="main", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_command_telescope"), ["telescope"], unique=False)
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telescope", sa.String(length=64), server_default="main", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_image_telescope"), ["telescope"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_telescope"))
        batch_op.drop_column("telescope")
    with op.batch_alter_table("command", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_command_telescope"))
        batch_op.drop_column("telescope")
