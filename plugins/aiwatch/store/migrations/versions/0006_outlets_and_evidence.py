"""outlet names and event evidence (issue 14)

- ``feeds.title`` (the feed's own <title>) and ``feeds.display_name`` (the feed list's ``title:``),
  ``articles.source_name`` (the outlet an aggregator entry names): thread replies and outlet counts
  name outlets, never a host such as 127.0.0.1:45201.
- ``event_articles.evidence``: what each placed report says about its partnership (parties both
  sides, descriptions, figures, names), so later cycles compare new reports with it.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('display_name', sa.String(length=255), nullable=True))
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_name', sa.String(length=255), nullable=True))
    with op.batch_alter_table('event_articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event_articles', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('source_name')
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('display_name')
        batch_op.drop_column('title')
