"""Compose's proxy as shipped (deploy/nginx.conf, deploy/proxy-entrypoint.sh) run by Debian's
nginx in front of test processes: the certificate is made by the entrypoint script as at
compose's first start (self-signed, for the test's host name), and only what compose decides
differently is moved onto loopback (upstreams, ports, file locations).

Where nginx or openssl is missing the proxy tests skip loudly, or fail when
``OMS_REQUIRE_NGINX=1`` (tests/needs.py; .ci/run sets it, so a missing proxy can never pass as
green)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from http.client import HTTPSConnection
from pathlib import Path

from tests import needs
from tests.processes import ROOT, Process, free_port, wait_for

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
ENTRYPOINT = ROOT / "deploy" / "proxy-entrypoint.sh"
# Each answer's total time and the time nginx spent receiving it from the app, so a test can
# tell whether the app was done long before the client was (buffering).
# And who asked and which upstream server answered, so a test can tell where a client went.
ACCESS_LOG_FORMAT = (
    "$request_uri $status $request_time $upstream_response_time $remote_addr $upstream_addr"
)


def require_nginx() -> str:
    """nginx's path; skips (loudly) without nginx or openssl, or fails in CI (tests/needs.py)."""
    needs.require("nginx")
    found = needs.nginx_path()
    assert found is not None
    return found


@dataclass
class Proxy:
    """A running proxy: plain HTTP on ``http_port`` (redirects), HTTPS on ``https_port``."""

    process: Process
    http_port: int
    https_port: int
    certificate: Path
    folder: Path
    entrypoint_log: str
    hostname: str

    def url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.https_port}"

    def tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this proxy's certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def spki_hash(self) -> str:
        """The certificate's public key hash, for Chromium's
        ``--ignore-certificate-errors-spki-list`` (which trusts exactly this key)."""
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.certificate), "-noout", "-pubkey"],
            capture_output=True,
            check=True,
        ).stdout
        public = subprocess.run(
            ["openssl", "pkey", "-pubin", "-outform", "der"],
            input=der,
            capture_output=True,
            check=True,
        ).stdout
        return base64.b64encode(hashlib.sha256(public).digest()).decode()

    def request(
        self, method: str, path: str, body: dict | None = None, token: str | None = None
    ) -> tuple[int, dict]:
        """One JSON request through the proxy over HTTPS, to the name it serves."""
        connection = HTTPSConnection(
            "127.0.0.1", self.https_port, context=self.tls_context(), timeout=30
        )
        headers = {"Host": f"{self.hostname}:{self.https_port}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        connection.request(method, path, body=data, headers=headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")

    def access_log(self) -> list[list[str]]:
        """The access log's lines, split into the fields of ``ACCESS_LOG_FORMAT``."""
        path = self.folder / "access.log"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    def stop(self) -> None:
        self.process.stop()


def _site(
    folder: Path,
    tls: Path,
    api_port: int,
    socket_ports: list[int],
    ports: tuple[int, int],
    flower_port: int,
) -> str:
    """deploy/nginx.conf with compose's names, ports and paths moved onto loopback."""
    http_port, https_port = ports
    site = NGINX_CONF.read_text()
    for shipped, local in (
        ("server web:5000;", f"server 127.0.0.1:{api_port};"),
        # one server per socket process, as compose's `--scale socket=N` gives
        ("server socket:5001;", " ".join(f"server 127.0.0.1:{p};" for p in socket_ports)),
        ("server flower:5555;", f"server 127.0.0.1:{flower_port};"),
        ("listen 8080;", f"listen 127.0.0.1:{http_port};"),
        ("listen 8443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/nginx/tls/", f"{tls}/"),
        ("root /var/www/acme;", f"root {folder / 'acme'};"),
        # compose publishes HTTPS on 443; here it is another port
        ("https://$host$request_uri", f"https://$host:{https_port}$request_uri"),
    ):
        assert shipped in site, shipped
        site = site.replace(shipped, local)
    return site


def start_proxy(
    folder: Path,
    api_port: int,
    socket_port: int | list[int],
    hostname: str = "oms.test",
    ports: tuple[int, int] | None = None,
    flower_port: int | None = None,
) -> Proxy:
    """The shipped proxy in front of the API on ``api_port`` and Socket.IO on ``socket_port``
    (and Flower on ``flower_port``; none runs by default), on ``ports`` (plain HTTP, HTTPS; free
    ones by default), with the self-signed certificate its entrypoint makes for ``hostname``
    (and 127.0.0.1)."""
    binary = require_nginx()
    tls = folder / "tls"
    made = subprocess.run(
        ["sh", str(ENTRYPOINT), "true"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OMS_TLS_DIR": str(tls),
            "OMS_TLS_HOSTNAME": hostname,
        },
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    ports = ports or (free_port(), free_port())
    (folder / "acme").mkdir(exist_ok=True)
    (folder / "site.conf").write_text(
        _site(
            folder,
            tls,
            api_port,
            socket_port if isinstance(socket_port, list) else [socket_port],
            ports,
            flower_port or free_port(),
        )
    )
    # as root, nginx's workers would run as nobody, who may not enter pytest's folders
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        user + f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  log_format timing '{ACCESS_LOG_FORMAT}';\n"
        f"  access_log {folder}/access.log timing;\n"
        f"  client_body_temp_path {folder}/body;\n"
        f"  proxy_temp_path {folder}/proxy;\n"
        "  include /etc/nginx/mime.types;\n"
        f"  include {folder}/site.conf;\n"
        "}\n"
    )
    check = subprocess.run(
        [binary, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = Process(
        [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        {},
        folder / "nginx.log",
    )
    proxy = Proxy(process, *ports, tls / "cert.pem", folder, made.stderr, hostname)
    context = proxy.tls_context()

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{proxy.url()}/healthz", timeout=2, context=context):
                return True
        except OSError:
            return process.popen.poll() is not None

    assert wait_for(up, 30), process.log()
    assert process.popen.poll() is None, process.log()
    return proxy
