"""An index on password_resets.recipient: a registration with a known address looks for a
notice sent to it in the last hour (at most one an hour), which must not scan every emailed
token ever sent.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 08:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_resets_recipient'), ['recipient'], unique=False)


def downgrade():
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_resets_recipient'))
