"""Callback throughput and latency: safe (AES) mode, a text message answered by a keyword rule.

Every server runs pinned to CPU 0; the load generator (wrk) runs in its own process on CPU 1 and
replays pre-built callbacks, each signed and encrypted exactly as WeChat sends them, each with its
own MsgId (so none is answered from the dedupe record). Measured in the same run:

- bare: an aiohttp handler that reads the body and answers ``success`` (the reference);
- naive: a straightforward aiohttp + wechatpy handler that stores nothing;
- opsbot with 10 and with 10,000 keyword rules, with its durable dedupe, follower tracking and
  hit counting on (they are always on), on the embedded default database (SQLite).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from channels.wechat.sandbox import FakeAccount, build_callback, decode_reply, text_xml

HERE = Path(__file__).parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
TOKEN = "benchtoken"
AES_KEY = "BenchKey0123456789abcdefghijklmnopqrstuvwxy"
APP_ID = "wxbench0000000001"
ORIGINAL_ID = "gh_bench0000001"
# Three messages, answered through the three kinds of keyword (contains, exact, regex).
MESSAGES = (
    ("请问会员价格是多少", "会员 ¥99/月"),
    ("查看套餐", "套餐：基础版、专业版"),
    ("订单 20261121001", "正在查询订单"),
)
# Distinct customers: each sends two or three messages in a run, as on a busy account, so the
# follower record is written for most requests (writes of one follower are coalesced within a
# minute, see storage.inbound).
OPENIDS = 40_000


@dataclass(frozen=True)
class Load:
    seconds: int = 10
    warmup: int = 3
    connections: int = 64


@dataclass(frozen=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int


def account(port: int) -> FakeAccount:
    return FakeAccount(
        name="bench",
        app_id=APP_ID,
        secret="bench-secret",
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        mode="safe",
        original_id=ORIGINAL_ID,
        callback_url=f"http://127.0.0.1:{port}/wechat/bench",
    )


def rules(count: int) -> list[dict[str, Any]]:
    """``count`` keyword rules: three that answer the benchmark messages, the rest filler of all
    three kinds that the messages do not match."""
    targets = [
        {
            "name": "member-price",
            "keywords": [{"contains": "会员价格"}],
            "reply": [{"text": MESSAGES[0][1]}],
        },
        {"name": "plans", "keywords": [{"exact": "查看套餐"}], "reply": [{"text": MESSAGES[1][1]}]},
        {
            "name": "order",
            "keywords": [{"regex": r"^订单\s*\d{6,}$"}],
            "reply": [{"text": MESSAGES[2][1]}],
        },
    ]
    filler = []
    for i in range(count - len(targets)):
        kind, text = [
            ("contains", f"关键词{i}号"),
            ("exact", f"产品{i}"),
            ("regex", rf"^编号{i}-\d+$"),
        ][i % 3]
        filler.append(
            {"name": f"rule-{i}", "keywords": [{kind: text}], "reply": [{"text": f"答复{i}"}]}
        )
    return filler + targets


def write_requests(path: Path, fake: FakeAccount, count: int, first_msg_id: int) -> None:
    """One line per request: ``path?query<TAB>body``; each a distinct message."""
    now = int(time.time())
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            text = MESSAGES[i % len(MESSAGES)][0]
            openid = f"oBench{i % OPENIDS:022d}"
            inner = text_xml(fake, openid, text, msg_id=first_msg_id + i, create_time=now)
            query, body = build_callback(fake, inner, timestamp=now, nonce=f"n{i}")
            out.write(f"/wechat/bench?{urlencode(query)}\t{body.decode()}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run a server pinned to CPU 0 until the block ends."""
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *command],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(
                        f"server did not start: {' '.join(command)}\n{err}"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wrk(
    port: int, requests: Path, *, seconds: int, connections: int, offset: int = 0
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(HERE / "requests.lua"),
            f"http://127.0.0.1:{port}",
            "--",
            str(requests),
            str(offset),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, Any]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            raise RuntimeError(f"no {label} latency in wrk output:\n{out}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not rps or not total:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    bad = int(non_2xx.group(1)) if non_2xx else 0
    bad += sum(map(int, errors.groups())) if errors else 0
    return {
        "rps": float(rps.group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "requests": int(total.group(1)),
        "bad": bad,
    }


def measure(
    name: str, port: int, requests: Path, load: Load, *, distinct: int | None = None
) -> Result:
    """Warm up, then measure. With ``distinct`` (the number of different callbacks in the
    file), a run that needed more is refused: replays would be answered from the dedupe record,
    which is cheaper than real work."""
    warm = wrk(port, requests, seconds=load.warmup, connections=load.connections)
    offset = warm["requests"] + load.connections
    run = wrk(port, requests, seconds=load.seconds, connections=load.connections, offset=offset)
    used = offset + run["requests"] + load.connections
    if distinct is not None and used > distinct:
        raise RuntimeError(f"{name}: {used:,} callbacks needed, {distinct:,} prepared (--requests)")
    return Result(name, run["rps"], run["p50"], run["p99"], run["requests"], run["bad"])


def check_reply(port: int, fake: FakeAccount) -> None:
    """One request by hand: the answer must decrypt to the configured reply."""
    now = int(time.time())
    inner = text_xml(
        fake, "oBenchCheck00000000000000000", MESSAGES[0][0], msg_id=1, create_time=now
    )
    query, body = build_callback(fake, inner, timestamp=now, nonce="check")
    url = f"http://127.0.0.1:{port}/wechat/bench?{urlencode(query)}"
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as resp:
        reply = decode_reply(fake, resp.read())
    if reply is None or reply.get("Content") != MESSAGES[0][1]:
        raise RuntimeError(f"opsbot answered {reply!r}, not the configured reply")


def opsbot_settings(workdir: Path, port: int) -> Path:
    path = workdir / "bench.toml"
    path.write_text(
        f"""log_level = "WARNING"
[server]
host = "127.0.0.1"
port = {port}
[database]
url = "sqlite+aiosqlite:///{workdir / "bench.db"}"
[wechat.bench]
app_id = "{APP_ID}"
secret = "bench-secret"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
mode = "safe"
api_base = "http://127.0.0.1:9"
original_id = "{ORIGINAL_ID}"
""",
        encoding="utf-8",
    )
    return path


def stored_records(workdir: Path) -> int:
    import sqlite3

    with sqlite3.connect(workdir / "bench.db") as db:
        count: int = db.execute("SELECT count(*) FROM inbound_events").fetchone()[0]
        return count


def run_opsbot(rule_count: int, load: Load, request_count: int) -> tuple[Result, int]:
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-"))
    try:
        port = free_port()
        settings = opsbot_settings(workdir, port)
        config = workdir / "rules.yaml"
        config.write_text(
            yaml.safe_dump(
                {"accounts": {"bench": {"keyword_rules": rules(rule_count)}}}, allow_unicode=True
            ),
            encoding="utf-8",
        )
        opsbot = str(BIN / "opsbot")
        for args in (["db", "upgrade"], ["import", str(config)]):
            subprocess.run(
                [opsbot, *args, "--config", str(settings)],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
        fake = account(port)
        requests = workdir / "requests.txt"
        write_requests(requests, fake, request_count, first_msg_id=10_000_000)
        with server([opsbot, "serve", "--config", str(settings)], port):
            check_reply(port, fake)
            result = measure(
                f"opsbot, {rule_count:,} keyword rules",
                port,
                requests,
                load,
                distinct=request_count,
            )
        return result, stored_records(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_reference(name: str, module: str, args: list[str], load: Load, requests: Path) -> Result:
    port = free_port()
    with server([sys.executable, "-m", module, str(port), *args], port):
        return measure(name, port, requests, load)
