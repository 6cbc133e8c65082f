"""The README's curl walk-through works as written, against a real gunicorn server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.cli.test_cli import BIN, free_port, run

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A walk through the API with curl", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    run(["db", "upgrade"], tmp_path)
    run(["demo"], tmp_path)
    port = free_port()
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(tmp_path),
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    env.pop("TRACE_DATABASE_URL", None)
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        script = walkthrough().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(20)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert '"biz_step": "receipt"' in proc.stdout
    assert '"code":"already_received"' in proc.stdout.replace(" ", "")
    assert '"status":"received"' in proc.stdout.replace(" ", "")
    assert '"code":"unknown_trace_key"' in proc.stdout.replace(" ", "")
