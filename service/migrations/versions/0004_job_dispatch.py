"""Jobs remember what was sent to the Celery workers.

- ``job.dispatched_attempt``: the attempt number the job had when its message was last
  sent to the broker (``service.jobs.dispatch``); NULL when never sent (the embedded runner
  sends nothing).
- ``job.dispatched_at``: when that message was sent.

Kept in the database rather than in one API process's memory, so several API
processes share one dispatch record (each job sent once, not once per process) and a
restarted API does not send every queued job again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job", sa.Column("dispatched_attempt", sa.Integer(), nullable=True))
    op.add_column("job", sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("dispatched_attempt")
