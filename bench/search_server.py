"""Script search through the real server: the sidebar's search API over 100,000 scripts.

Run ``python -m bench.search_server``. The corpus and the query mix are those of
:mod:`bench.search` (same generators, same seed), with two changes the database needs: a repeated
shortcode gets a suffix (``-2``, ``-3``, ...) so every shortcode is unique, and the personal
scripts belong to WeCom people of the demo app (those of the first staff member to ``lilei``, who
searches, so he sees his own personal scripts and nobody else's).

The scripts are saved through ``storage.library_repo.save_scripts`` into a fresh SQLite database;
then ``opsbot serve`` runs on the demo settings (pointed at that database and at free ports),
pinned to CPU 0, while this process, on the other CPU, sends requests one after the other over
one keep-alive connection:

- the reference: ``GET /healthz``, which does no work, so it shows what HTTP, aiohttp and the
  client cost on this machine;
- ``GET /sidebar/demo/api/search?q=...`` with lilei's session cookie: the session check, the
  role lookup, the generation check, the index search and the fetch of the hits' rows.

The index is loaded on the first search; that request is timed apart ("index load"). The
server's memory (VmRSS, and VmHWM, its peak) is read from /proc after start-up, after the index
load and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from bench.search import STAFF, Query, corpus, queries
from bot.settings import load_settings
from bot.staff_chat import wecom_app
from scripts_library.search import Entry
from scripts_library.sidebar import SESSION_COOKIE, session_cookie
from storage import commands_repo, library_repo
from storage.db import create_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
DEMO_SETTINGS = ROOT / "bot" / "demo" / "opsbot.toml"
ACCOUNT = "demo"  # the Official Account the demo WeCom app manages
APP = "demo"
USERID = "lilei"
PERSON = f"wecom:{APP}:{USERID}"
SERVER_CPU = 0
CLIENT_CPU = 1


# The data


def unique_shortcodes(entries: Sequence[Entry]) -> list[Entry]:
    """The same scripts, a repeated shortcode suffixed (``tk-fh-2``) with one nobody uses."""
    taken = {e.shortcode for e in entries if e.shortcode}
    seen: set[str] = set()
    suffix: dict[str, int] = {}
    out = []
    for entry in entries:
        code = entry.shortcode
        if code in seen:
            n = suffix.get(code, 1)
            while True:
                n += 1
                candidate = f"{code}-{n}"
                if candidate not in taken:
                    break
            suffix[code] = n
            taken.add(candidate)
            entry = replace(entry, shortcode=candidate)
        elif code:
            seen.add(code)
        out.append(entry)
    return out


def owner_of(entry: Entry) -> str:
    """The WeCom person a personal script belongs to: the first staff member's are lilei's."""
    if not entry.owner:
        return ""
    return PERSON if entry.owner == STAFF[0] else f"wecom:{APP}:{entry.owner}"


def draft(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "shortcode": entry.shortcode,
        "kind": "text",
        "body": {"text": entry.content},
        "tags": list(entry.tags),
        "owner": owner_of(entry),
        "category": "",
    }


async def fill_database(url: str, entries: Sequence[Entry], chunk: int) -> float:
    """Migrate, save the scripts in transactions of ``chunk``, grant lilei his role; the seconds
    the scripts took to save."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        start = time.perf_counter()
        for first in range(0, len(entries), chunk):
            batch = [draft(e) for e in entries[first : first + chunk]]
            await library_repo.save_scripts(engine, ACCOUNT, batch, "bench")
        seconds = time.perf_counter() - start
        await commands_repo.grant(engine, PERSON, "staff", "bench")
    finally:
        await engine.dispose()
    return seconds


def write_settings(workdir: Path, db_url: str, bot_port: int, sandbox_port: int) -> Path:
    """The demo settings on ``db_url`` and the given ports (as tests/bot/test_cli.py does)."""
    demo = DEMO_SETTINGS.read_text(encoding="utf-8")
    text = (
        demo.replace('url = "sqlite+aiosqlite:///var/opsbot.db"', f'url = "{db_url}"')
        .replace("port = 8080", f"port = {bot_port}")
        .replace("port = 8081", f"port = {sandbox_port}")
        .replace("127.0.0.1:8081", f"127.0.0.1:{sandbox_port}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{bot_port}")
    )
    if db_url not in text or f"port = {bot_port}" not in text:
        raise RuntimeError(f"{DEMO_SETTINGS} changed: cannot point it at the bench database")
    path = workdir / "opsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Memory:
    rss_mb: float
    peak_mb: float  # VmHWM: the highest RSS so far


def memory(pid: int) -> Memory:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return Memory(fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan")))


def pinned() -> bool:
    """Whether the server and this process can have a CPU each."""
    cpus = os.sched_getaffinity(0)
    return shutil.which("taskset") is not None and {SERVER_CPU, CLIENT_CPU} <= cpus


@contextmanager
def server(config: Path, port: int, log: Path, pin: bool) -> Iterator[subprocess.Popen[bytes]]:
    """``opsbot serve`` until the block ends (SIGTERM, then wait); its output goes to ``log``."""
    command = [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)]
    if pin:
        command = ["taskset", "-c", str(SERVER_CPU), *command]  # taskset execs: same pid
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/healthz"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"opsbot serve did not start:\n{tail}")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# The client


@dataclass
class Timed:
    latencies: list[float]  # ms
    seconds: float  # wall time of the whole run
    errors: list[str]
    empty: int = 0


async def _get(
    session: aiohttp.ClientSession, url: str, params: dict[str, str] | None = None
) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    async with session.get(url, params=params) as resp:
        body = await resp.read()
    return (time.perf_counter() - start) * 1000, resp.status, body


def _check_list(status: int, body: bytes) -> tuple[str, bool]:
    """("", empty) for a good search answer; else what is wrong with it."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}", False
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}", False
    if not isinstance(data, list):
        return f"not a list: {body[:200]!r}", False
    return "", not data


async def _healthz(session: aiohttp.ClientSession, base: str, count: int) -> Timed:
    run = Timed([], 0.0, [])
    start = time.perf_counter()
    for _ in range(count):
        ms, status, body = await _get(session, f"{base}/healthz")
        run.latencies.append(ms)
        if status != 200:
            run.errors.append(f"healthz HTTP {status}: {body[:200]!r}")
    run.seconds = time.perf_counter() - start
    return run


async def _search(session: aiohttp.ClientSession, base: str, mix: Sequence[Query]) -> Timed:
    run = Timed([], 0.0, [])
    url = f"{base}/sidebar/{APP}/api/search"
    start = time.perf_counter()
    for q in mix:
        ms, status, body = await _get(session, url, {"q": q.text})
        run.latencies.append(ms)
        problem, empty = _check_list(status, body)
        if problem:
            run.errors.append(f"q={q.text!r}: {problem}")
        run.empty += empty
    run.seconds = time.perf_counter() - start
    return run


@dataclass
class Measured:
    index_load_ms: float
    first_problem: str
    after_start: Memory
    after_index: Memory
    healthz: Timed
    search: Timed


async def measure(
    base: str, cookie: str, pid: int, warmup: Sequence[Query], mix: Sequence[Query], count: int
) -> Measured:
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:
        await _get(session, f"{base}/healthz")  # open the connection
        after_start = memory(pid)
        ms, status, body = await _get(
            session, f"{base}/sidebar/{APP}/api/search", {"q": warmup[0].text}
        )
        problem, _ = _check_list(status, body)
        after_index = memory(pid)
        await _healthz(session, base, len(warmup))
        await _search(session, base, warmup)
        healthz = await _healthz(session, base, count)
        search = await _search(session, base, mix)
    return Measured(ms, problem, after_start, after_index, healthz, search)


# The report


def percentiles(latencies: Sequence[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(latencies)}


def _row(name: str, figures: dict[str, float], rps: float | None = None) -> str:
    cells = "".join(f"{figures[k]:>9.2f}" for k in ("p50", "p95", "p99", "max"))
    return f"{name:<40}{cells}" + (f"{rps:>10,.0f}" if rps is not None else "")


def _memory(label: str, m: Memory) -> str:
    return f"  {label:<30}RSS {m.rss_mb:>6.0f} MB   peak (VmHWM) {m.peak_mb:>6.0f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_server")
    parser.add_argument("--scripts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000, help="measured searches")
    parser.add_argument("--healthz", type=int, default=2_000, help="measured reference requests")
    parser.add_argument("--warmup", type=int, default=200, help="requests of each before")
    parser.add_argument("--chunk", type=int, default=5_000, help="scripts per transaction")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--target-p99-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    entries = unique_shortcodes(corpus(args.scripts, args.seed))
    every = queries(entries, args.warmup + args.queries, args.seed + 1)
    warmup, mix = every[: args.warmup], every[args.warmup :]
    pin = pinned()
    print(
        f"script search through the server: {len(entries):,} scripts on SQLite, "
        f"GET /sidebar/{APP}/api/search as {USERID}; {args.warmup} requests of each kind to warm "
        f"up, then {args.healthz:,} /healthz (the reference) and {len(mix):,} searches, one after "
        "the other on one keep-alive connection; "
        + (
            f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}"
            if pin
            else "not pinned (needs taskset and two CPUs)"
        ),
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-search-"))
    affinity = os.sched_getaffinity(0)
    try:
        db_url = f"sqlite+aiosqlite:///{workdir / 'opsbot.db'}"
        load_seconds = asyncio.run(fill_database(db_url, entries, args.chunk))
        db_mb = sum(p.stat().st_size for p in workdir.glob("opsbot.db*")) / 2**20
        print(
            f"database load: {load_seconds:.1f} s ({len(entries) / load_seconds:,.0f} scripts/s, "
            f"transactions of {args.chunk:,}); file {db_mb:.0f} MB",
            flush=True,
        )
        port = free_port()
        config = write_settings(workdir, db_url, port, free_port())
        settings = load_settings(config, environ={})
        app = wecom_app(APP, settings.wecom[APP])
        cookie = session_cookie(app, USERID, int(time.time()) + 3600)
        if pin:
            os.sched_setaffinity(0, {CLIENT_CPU})
        with server(config, port, workdir / "server.log", pin) as proc:
            measured = asyncio.run(
                measure(f"http://127.0.0.1:{port}", cookie, proc.pid, warmup, mix, args.healthz)
            )
            at_end = memory(proc.pid)
    finally:
        os.sched_setaffinity(0, affinity)
        shutil.rmtree(workdir, ignore_errors=True)

    healthz, search = measured.healthz, measured.search
    health_figures, search_figures = percentiles(healthz.latencies), percentiles(search.latencies)
    print(f"index load (the first search): {measured.index_load_ms / 1000:.2f} s")
    print("server memory:")
    print(_memory("after start-up", measured.after_start))
    print(_memory("after the index load", measured.after_index))
    print(_memory("at the end", at_end))
    print(f"\n{'latency, ms':<40}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'req/s':>10}")
    print(
        _row(
            f"GET /healthz ({len(healthz.latencies):,})",
            health_figures,
            len(healthz.latencies) / healthz.seconds,
        )
    )
    print(
        _row(
            f"GET .../api/search ({len(search.latencies):,})",
            search_figures,
            len(search.latencies) / search.seconds,
        )
    )
    by_kind: dict[str, list[float]] = {}
    for q, ms in zip(mix, search.latencies, strict=True):
        by_kind.setdefault(q.kind, []).append(ms)
    for kind, values in sorted(by_kind.items()):
        if len(values) >= 2:
            print(_row(f"  search, {kind} ({len(values)})", percentiles(values)))
    errors = [*healthz.errors, *search.errors]
    if measured.first_problem:
        errors.insert(0, f"first search: {measured.first_problem}")
    print(
        f"\nsearch p99 / healthz p99: {search_figures['p99'] / health_figures['p99']:.1f}x; "
        f"search p99 - healthz p99: {search_figures['p99'] - health_figures['p99']:.2f} ms"
    )
    print(
        f"answers: {len(search.latencies) - len(search.errors):,} of {len(search.latencies):,} "
        f"searches 200 with a JSON list ({search.empty:,} of them empty); errors: {len(errors)}"
    )
    for error in errors[:5]:
        print(f"  {error}")
    met = search_figures["p99"] < args.target_p99_ms
    print(f"p99 target < {args.target_p99_ms:g} ms: {'met' if met else 'NOT met'}")
    print(f"(run took {time.perf_counter() - started:.0f} s)")
    return 0 if met and not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
