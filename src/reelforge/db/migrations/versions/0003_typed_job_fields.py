"""typed job fields: `worker_id` becomes `lease_token`; job extras use snake_case keys

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# old extras key -> new one (core.job.JobExtras)
RENAMED = {"motionStrength": "motion_strength", "model": "requested_model"}


def _rename_extras(renames: dict[str, str]) -> None:
    jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("extra", sa.JSON))
    conn = op.get_bind()
    for job_id, extra in conn.execute(sa.select(jobs.c.id, jobs.c.extra)).all():
        if extra and renames.keys() & extra.keys():
            new = {renames.get(key, key): value for key, value in extra.items()}
            conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(extra=new))


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("worker_id", new_column_name="lease_token")
    _rename_extras(RENAMED)


def downgrade() -> None:
    _rename_extras({new: old for old, new in RENAMED.items()})
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("lease_token", new_column_name="worker_id")
