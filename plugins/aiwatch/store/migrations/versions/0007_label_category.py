"""labels keep their category (issue 15)

``labels.category``: the LABELLING.md category an analyst gave (pos, or one of the hard-negative
kinds), kept as its own column instead of folded into the note, so training data and per-category
figures can use it.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_column('category')
