"""the run that last tried to deliver each outbox message (issue 15)

``outbox.delivery_run_id``: the Airflow run whose ``send_alerts`` last tried the message (sent it,
wrote it to the dry-run file, failed or left it for later), beside ``run_id``, the run that composed
it; the operator's view links to both.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_run_id', sa.String(length=250), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('delivery_run_id')
