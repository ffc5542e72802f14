"""Operator commands under ``flask --app wsgi ...`` (``db`` comes from Flask-Migrate)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from oms import demo
from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.errors import OMSError

users_cli = AppGroup("users", help="Manage user accounts.")
database_cli = AppGroup("database", help="The database server side of set-up.")
demo_cli = AppGroup("demo", help="Demo data for trying the app.")
stock_cli = AppGroup("stock", help="Stock counters.")
webhooks_cli = AppGroup("webhooks", help="Webhook endpoints.")
# `backup schedule`: a failed backup (database down, disk full) is tried again this much later.
RETRY_FAILED_BACKUP_SECONDS = 3600.0
backup_cli = AppGroup(
    "backup", help="Backups of the database and the export files (README: Operations, Backups)."
)


@users_cli.command("create")
@click.option("--email", required=True, help="Login email.")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in UserRole]), help="The user's role."
)
@click.option("--first-name", default="", help="Given name.")
@click.option("--last-name", default="", help="Family name.")
def create_user(email: str, password: str, role: str, first_name: str, last_name: str) -> None:
    """Create a user (a customer user also gets its customer record)."""
    try:
        user = auth_service.create_user(
            email=email,
            password=password,
            role=UserRole(role),
            first_name=first_name,
            last_name=last_name,
        )
    except OMSError as exc:
        raise click.ClickException(f"{exc.message} {exc.details or ''}".strip()) from exc
    click.echo(f"created {user.role.value} {user.email} ({user.id})")


@demo_cli.command("load")
def load_demo() -> None:
    """Load the demo logins, customers, products and orders once; running it again changes
    nothing."""
    created = demo.load()
    if created:
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data already present.")
    click.echo("Demo logins (email / password):")
    for email, password, role in demo.LOGINS:
        click.echo(f"  {role:<9} {email:<24} {password}")


@database_cli.command("create")
def create_database() -> None:
    """Create the PostgreSQL database named in OMS_DATABASE_URL if it does not exist."""
    from sqlalchemy.engine import make_url

    from oms.db import create_database_if_missing

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        click.echo(f"{url.get_backend_name()}: nothing to create")
        return
    created = create_database_if_missing(url)
    click.echo(f"database {url.database} {'created' if created else 'already exists'}")


@stock_cli.command("reconcile")
@click.option("--repair", is_flag=True, help="Set drifted counters right (with audit entries).")
def reconcile_stock(repair: bool) -> None:
    """Compare every product's reserved_count with its placed and picked orders; exit 1 when
    drift is left."""
    from oms.ops import reconcile

    result = reconcile.reconcile(repair=repair)
    for item in result["items"]:
        state = "repaired" if item["repaired"] else "DRIFT"
        click.echo(
            f"{state} {item['product_id']} {item['name']}: reserved_count "
            f"{item['reserved_count']}, orders hold {item['expected']}"
        )
    click.echo(f"{result['products']} drifted, {result['repaired']} repaired")
    if result["products"]:
        raise SystemExit(1)


@webhooks_cli.command("reencrypt-secrets")
def reencrypt_webhook_secrets() -> None:
    """Encrypt every endpoint secret again with the first key of OMS_WEBHOOKS_ENCRYPTION_KEYS
    (after putting a new key first); then the old keys can be removed."""
    from oms.webhooks import service as webhooks
    from oms.webhooks.signing import SecretUnreadable

    try:
        count = webhooks.reencrypt_secrets()
    except SecretUnreadable as exc:  # nothing was changed: the transaction rolled back
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{count} webhook secret(s) encrypted with the first key")


def _backup_settings() -> dict:
    config = current_app.config
    return {
        "database_url": config["SQLALCHEMY_DATABASE_URI"],
        "export_dir": config["OMS_EXPORT_DIR"],
        "backup_dir": config["OMS_BACKUP_DIR"],
        "keep": config["OMS_BACKUP_KEEP"],
    }


def _make_backup() -> None:
    from oms.ops import backup

    try:
        made, removed = backup.create_backup(**_backup_settings())
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup {made.name}: {made.dump} and {made.exports} ({made.size} bytes)")
    for old in removed:
        click.echo(f"deleted backup {old.name} (OMS_BACKUP_KEEP={_backup_settings()['keep']})")


@backup_cli.command("create")
def create_backup() -> None:
    """Back up the database (pg_dump -Fc) and the export files into OMS_BACKUP_DIR, then keep
    the newest OMS_BACKUP_KEEP backups."""
    _make_backup()


@backup_cli.command("list")
def list_backups() -> None:
    """The backups in OMS_BACKUP_DIR, newest first."""
    from oms.ops import backup

    for item in backup.list_backups(current_app.config["OMS_BACKUP_DIR"]):
        click.echo(f"{item.name}  {item.size:>12} bytes  {item.dump}")


@backup_cli.command("restore")
@click.argument("name")
def restore_backup(name: str) -> None:
    """Restore backup NAME (`latest`, a name from `backup list`, or a path to its .dump) into
    the database of OMS_DATABASE_URL, which must be empty or absent, and its export files into
    OMS_EXPORT_DIR."""
    from oms.ops import backup

    settings = _backup_settings()
    folder = Path(name).parent if Path(name).is_file() else settings["backup_dir"]
    try:
        found = backup.find_backup(folder, name)
        restored = backup.restore_backup(
            found, database_url=settings["database_url"], export_dir=settings["export_dir"]
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"restored {found.name} into {restored['database']}: schema {restored['revision']}, "
        f"{restored['orders']} orders, {restored['audit_entries']} audit entries, "
        f"{restored['export_files']} export files"
    )


@backup_cli.command("schedule")
def schedule_backups() -> None:
    """Run for ever, making a backup whenever the newest is OMS_BACKUP_INTERVAL_HOURS old
    (compose's `backup` service); a failed backup is reported and tried again an hour later
    (or an interval, if shorter)."""
    from oms.ops import backup

    interval = timedelta(hours=current_app.config["OMS_BACKUP_INTERVAL_HOURS"])
    folder = current_app.config["OMS_BACKUP_DIR"]
    while True:
        newest = backup.list_backups(folder)
        wait = backup.seconds_until_due(
            newest[0].taken_at if newest else None, interval, datetime.now(UTC)
        )
        click.echo(f"next backup in {wait:.0f} s")
        time.sleep(wait)
        try:
            _make_backup()
        except click.ClickException as exc:
            click.echo(f"backup failed: {exc.message}", err=True)
            time.sleep(min(interval.total_seconds(), RETRY_FAILED_BACKUP_SECONDS))


def register_cli(app: Flask) -> None:
    """Add the ``users``, ``database``, ``demo``, ``stock``, ``backup`` and ``webhooks``
    command groups to ``app``."""
    app.cli.add_command(backup_cli)
    app.cli.add_command(stock_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(database_cli)
    app.cli.add_command(demo_cli)
