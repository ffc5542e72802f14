"""deploy/proxy-entrypoint.sh, which compose's proxy runs before nginx: the operator's own
certificate when given (linked, so a renewal is read on reload), else a self-signed one made
once and said loudly at every start; a wrong setting stops the proxy with a message."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.proxy import ENTRYPOINT

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None and os.environ.get("OMS_REQUIRE_NGINX") != "1",
    reason="openssl is not installed (the nginx image has it; `apt-get install -y openssl`)",
)


def _run(tls: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMS_TLS_DIR": str(tls), **settings}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "echo", "nginx starts"], env=env, capture_output=True, text=True
    )


def _names(certificate: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_without_a_certificate_one_is_made_once_and_said_loudly(tmp_path):
    tls = tmp_path / "tls"
    first = _run(tls, OMS_TLS_HOSTNAME="shop.internal")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "nginx starts"
    assert "SELF-SIGNED TLS CERTIFICATE for shop.internal" in first.stderr
    assert "DNS:shop.internal" in _names(tls / "cert.pem")
    assert (tls / "key.pem").stat().st_mode & 0o077 == 0
    made = (tls / "cert.pem").read_bytes()

    again = _run(tls, OMS_TLS_HOSTNAME="shop.internal")
    assert (tls / "cert.pem").read_bytes() == made  # kept across restarts
    assert "SELF-SIGNED TLS CERTIFICATE" in again.stderr  # and said again

    renamed = _run(tls, OMS_TLS_HOSTNAME="10.0.0.7")
    assert renamed.returncode == 0
    assert "IP Address:10.0.0.7" in _names(tls / "cert.pem")


def test_the_operators_certificate_is_linked_and_replaces_the_self_signed_one(tmp_path):
    tls, own = tmp_path / "tls", tmp_path / "letsencrypt"
    assert _run(tls).returncode == 0
    own.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=shop.example.com", "-keyout", str(own / "privkey.pem"),
         "-out", str(own / "fullchain.pem")],
        capture_output=True,
        check=True,
    )  # fmt: skip
    given = _run(tls, OMS_TLS_CERT=str(own / "fullchain.pem"), OMS_TLS_KEY=str(own / "privkey.pem"))
    assert given.returncode == 0, given.stderr
    assert "SELF-SIGNED" not in given.stderr
    assert (tls / "cert.pem").resolve() == own / "fullchain.pem"
    assert (tls / "key.pem").resolve() == own / "privkey.pem"

    # settings gone: back to a self-signed certificate, never a stale link
    back = _run(tls)
    assert not (tls / "cert.pem").is_symlink()
    assert "SELF-SIGNED" in back.stderr


@pytest.mark.parametrize(
    "settings",
    [
        {"OMS_TLS_CERT": "/nowhere/fullchain.pem", "OMS_TLS_KEY": "/nowhere/privkey.pem"},
        {"OMS_TLS_CERT": "/etc/hostname"},
    ],
)
def test_a_wrong_setting_stops_the_proxy_saying_why(tmp_path, settings):
    result = _run(tmp_path / "tls", **settings)
    assert result.returncode != 0
    assert "nginx starts" not in result.stdout
    assert "OMS_TLS_CERT" in result.stderr
