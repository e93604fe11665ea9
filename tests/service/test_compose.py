"""``docker-compose.yml`` agrees with the image and the command line (Docker is not run here).

The API and every worker share the volume holding ``FORMSCAN_DATA_DIR`` (the blob
store), talk to the compose PostgreSQL and Redis, and run commands ``formscan`` has.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _formscan_help() -> str:
    script = Path(sys.executable).with_name("formscan")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def test_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "api", "worker"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service["healthcheck"]["test"], name


def test_api_and_workers_share_image_settings_and_data(
    compose: dict[str, Any], dockerfile: str
) -> None:
    services = compose["services"]
    api, worker = services["api"], services["worker"]
    data_dir = re.search(r"FORMSCAN_DATA_DIR=(\S+)", dockerfile)
    volume = re.search(r'VOLUME \["([^"]+)"\]', dockerfile)
    assert data_dir and volume and data_dir.group(1) == volume.group(1)
    for service in (api, worker):
        assert service["build"] == "."
        env = service["environment"]
        assert env["FORMSCAN_DATA_DIR"] == data_dir.group(1)
        assert f"data:{data_dir.group(1)}" in service["volumes"]
        assert env["FORMSCAN_BROKER_URL"] == "redis://redis:6379/0"
        assert (
            env["FORMSCAN_DATABASE_URL"]
            == "postgresql+psycopg://formscan:formscan@postgres/formscan"
        )
    assert "data" in compose["volumes"]
    postgres = services["postgres"]
    assert postgres["environment"] == {
        "POSTGRES_USER": "formscan",
        "POSTGRES_PASSWORD": "formscan",
        "POSTGRES_DB": "formscan",
    }
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # Workers start once the API has migrated the database.
    assert services["worker"]["depends_on"]["api"] == {"condition": "service_healthy"}
    assert services["worker"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["worker"]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_worker_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    # ``--scale worker=N`` needs no fixed name and no published port.
    assert "container_name" not in worker
    assert "ports" not in worker


def test_commands_exist(compose: dict[str, Any], dockerfile: str) -> None:
    assert 'ENTRYPOINT ["formscan"]' in dockerfile
    assert "USER formscan" in dockerfile
    help_text = _formscan_help()
    listed = set(re.findall(r"^    (\w+) ", help_text, flags=re.MULTILINE))
    for name in ("api", "worker"):
        command = compose["services"][name]["command"]
        assert command[0] in listed, (name, command, listed)
    assert compose["services"]["api"]["command"] == ["serve"]
    assert compose["services"]["worker"]["command"] == ["worker"]
    assert "/healthz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])
