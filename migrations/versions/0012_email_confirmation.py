"""Registration confirmed by email: users.email_confirmed_at, password_resets.purpose and
.recipient (the table holds every emailed account token: resets, email confirmations, notices
of a registration attempt on a known address). Existing users count as confirmed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE users SET email_confirmed_at = created_at')
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=30), server_default='password-reset', nullable=False))
        batch_op.add_column(sa.Column('recipient', sa.String(length=255), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=True)


def downgrade():
    op.execute("DELETE FROM password_resets WHERE purpose <> 'password-reset'")
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('recipient')
        batch_op.drop_column('purpose')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
