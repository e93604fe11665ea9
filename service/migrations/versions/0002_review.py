"""Review: page images, human decisions on readings, append-only audit events.

- ``page.image_sha256``: the cleaned page image (grayscale PNG) in the blob store.
- ``reading.decision``, ``decided_by``, ``decided_at``, ``is_decided_by_uploader``,
  ``accepted_reasons``: the last human decision on a reading and the rule reasons a
  person confirmed (see ``service.review``).
- ``audit_event.is_by_uploader``: the unit that uploaded decided, not a reviewer.
- Triggers refuse ``UPDATE`` and ``DELETE`` of audit events on both databases. Only
  ``reading_id`` may change (to NULL, by the foreign key, when reprocessing replaces
  the readings), so the trigger names every other column.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FROZEN = ("submission_id", "actor", "action", "old", "new", "reason", "at", "is_by_uploader")
_FROZEN_COLUMNS = ", ".join(f'"{c}"' for c in _FROZEN)
_MESSAGE = "audit_event is append-only"


def upgrade() -> None:
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("reading", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "is_decided_by_uploader", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("accepted_reasons", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_by_uploader", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("is_by_uploader")
    with op.batch_alter_table("reading", schema=None) as batch_op:
        for name in (
            "accepted_reasons",
            "is_decided_by_uploader",
            "decided_at",
            "decided_by",
            "decision",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("page", schema=None) as batch_op:
        batch_op.drop_column("image_sha256")


def _create_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, event in (("no_update", f"UPDATE OF {_FROZEN_COLUMNS}"), ("no_delete", "DELETE")):
            op.execute(
                f"CREATE TRIGGER audit_event_{name} BEFORE {event} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
    )
    for name, event in (("no_update", f"UPDATE OF {_FROZEN_COLUMNS}"), ("no_delete", "DELETE")):
        op.execute(
            f"CREATE TRIGGER audit_event_{name} BEFORE {event} ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )


def _drop_audit_triggers() -> None:
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    for name in ("no_update", "no_delete"):
        op.execute(f"DROP TRIGGER audit_event_{name}" + ("" if is_sqlite else " ON audit_event"))
    if not is_sqlite:
        op.execute("DROP FUNCTION audit_event_append_only()")
