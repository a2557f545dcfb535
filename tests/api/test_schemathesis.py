"""Schemathesis against a live server: generated requests for every operation never get a 5xx."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.services import api_token_create
from tests import factories
from tests.access.world import build_world

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))


@pytest.mark.slow
# serialized_rollback: the flush after a transactional test would otherwise drop the role groups
# (made by a data migration) that later tests rely on.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_no_server_error_to_generated_requests(live_server, tmp_path):
    build_world()
    admin = factories.make_user(is_superuser=True, is_staff=True)
    _, key = api_token_create(user=admin, name="schemathesis", scope="read-write")
    report = tmp_path / "schemathesis.txt"
    completed = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Token {key}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "5",
            "--max-time",
            os.environ.get("SCHEMATHESIS_MAX_TIME", "60"),
            "--seed",
            os.environ.get("SCHEMATHESIS_SEED", "7"),
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report.write_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    assert "Server error" not in completed.stdout
