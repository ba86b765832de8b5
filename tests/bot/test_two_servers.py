"""Two ``opsbot serve`` processes on one database (SQLite file or PostgreSQL): an admin schedules
a mass send in the chat, both servers' schedulers see it come due, and the followers get it once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import unused_port

from tests.bot.test_cli import DEMO, OPSBOT, ROOT, run, settings

FAST = {"OPSBOT_SCHEDULER__POLL_SECONDS": "0.3"}


@contextmanager
def serving(config: Path) -> Iterator[None]:
    proc = subprocess.Popen(
        [*OPSBOT, "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **FAST},
    )
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while "Press Ctrl+C" not in (line := proc.stdout.readline()):
            assert line or proc.poll() is None, "opsbot serve stopped"
            assert time.monotonic() < deadline, "opsbot serve did not start"
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def sandbox(port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"http://127.0.0.1:{port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback
        return json.load(resp)


def test_two_servers_deliver_a_scheduled_send_once(tmp_path: Path, db_url: str) -> None:
    sandbox_port = unused_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = settings(tmp_path / "a", db_url, unused_port(), sandbox_port)
    second = settings(tmp_path / "b", db_url, unused_port(), sandbox_port)
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("enabled = true", "enabled = false", 1), encoding="utf-8")
    assert run("import", str(DEMO), config=first).returncode == 0
    with ExitStack() as servers:
        servers.enter_context(serving(first))  # with the sandbox platforms
        servers.enter_context(serving(second))
        fans = ["oTwoServersFan00000000000001", "oTwoServersFan00000000000002"]
        for openid in fans:
            sandbox(sandbox_port, f"/sandbox/demo/users/{openid}/follow", {})
        at = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=6)
        lines = ["群发 新建", "两台服务器，只发一次", "全部", at.strftime("%Y-%m-%d %H:%M:%S")]
        lines += ["群发 发送 1", "确认"]
        done = run(
            "chat", "--as", "admin", "--wait", "12", config=first, stdin="\n".join(lines) + "\n"
        )
        assert done.returncode == 0, done.stderr
        assert "群发 #1 将在" in done.stdout
        assert "群发 #1 已完成" in done.stdout, done.stdout
        calls = sandbox(sandbox_port, "/sandbox/calls?path=/cgi-bin/message/mass/sendall")
        assert len(calls["calls"]) == 1
        for openid in fans:
            timeline = sandbox(sandbox_port, f"/sandbox/demo/users/{openid}/timeline")
            mass = [e for e in timeline["entries"] if e["via"] == "mass"]
            assert [e["message"]["content"] for e in mass] == ["两台服务器，只发一次"]
