"""Webhook endpoint secrets stored encrypted (issue 19): webhook_endpoints.secret (plain text)
becomes secret_encrypted, a Fernet token under the first key of OMS_WEBHOOKS_ENCRYPTION_KEYS
(in development and testing a key derived from the secret key). Existing secrets are
encrypted here, unchanged, so receivers keep theirs; the downgrade decrypts them back.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:20:00.000000

"""
import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

endpoints = sa.table(
    'webhook_endpoints',
    sa.column('id', sa.Uuid()),
    sa.column('secret', sa.String(100)),
    sa.column('secret_encrypted', sa.Text()),
)


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in current_app.config['OMS_WEBHOOKS_ENCRYPTION_KEYS']])


def upgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_encrypted', sa.Text(), nullable=True))
    bind = op.get_bind()
    fernet = _fernet()
    for row in bind.execute(sa.select(endpoints.c.id, endpoints.c.secret)).all():
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == row.id)
            .values(secret_encrypted=fernet.encrypt(row.secret.encode()).decode())
        )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret_encrypted', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('secret')


def downgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=100), nullable=True))
    bind = op.get_bind()
    fernet = _fernet()
    for row in bind.execute(sa.select(endpoints.c.id, endpoints.c.secret_encrypted)).all():
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == row.id)
            .values(secret=fernet.decrypt(row.secret_encrypted.encode()).decode())
        )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column('secret_encrypted')
