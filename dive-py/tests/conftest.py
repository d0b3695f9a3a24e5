"""Fixtures for the tests of the dive_rs wheel, run by scripts/test in a fresh venv.

scripts/test sets DIVE_RS_BIN (the cargo-built command, to compare against) and
DIVE_RS_FORMS (the rich fixture in every form, from `gen-testdata forms`).
"""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests with scripts/test")
    return Path(value)


@pytest.fixture(scope="session")
def cli() -> Path:
    return _env_path("DIVE_RS_BIN")


@pytest.fixture(scope="session")
def forms() -> Path:
    return _env_path("DIVE_RS_FORMS")


def run_cli(cli: Path, *args: object, code: int = 0) -> str:
    """Runs the cargo-built dive-rs (never its CI mode) and returns its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = subprocess.run(
        [str(cli), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == code, done.stderr
    return done.stdout


def cli_json(cli: Path, *args: object) -> Any:
    return json.loads(run_cli(cli, *args))
