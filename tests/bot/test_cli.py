"""The ``opsbot`` command line as a user runs it: separate processes, real files and ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import unused_port

OPSBOT = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "bot" / "demo" / "demo.yaml"


def settings(tmp_path: Path, db_url: str, bot_port: int = 8080, sandbox_port: int = 8081) -> Path:
    path = tmp_path / "opsbot.toml"
    demo = (ROOT / "bot" / "demo" / "opsbot.toml").read_text(encoding="utf-8")
    text = (
        demo.replace('url = "sqlite+aiosqlite:///var/opsbot.db"', f'url = "{db_url}"')
        .replace("port = 8080", f"port = {bot_port}")
        .replace("port = 8081", f"port = {sandbox_port}")
        .replace("127.0.0.1:8081", f"127.0.0.1:{sandbox_port}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{bot_port}")
    )
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str, config: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OPSBOT, *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_import_then_export_gives_back_the_configuration(tmp_path: Path, db_url: str) -> None:
    config = settings(tmp_path, db_url)
    done = run("import", str(DEMO), config=config)
    assert done.returncode == 0, done.stderr
    assert "demo: 6 keyword rules, 2 channels imported" in done.stdout
    exported = tmp_path / "out.yaml"
    assert run("export", str(exported), config=config).returncode == 0
    assert yaml.safe_load(exported.read_text(encoding="utf-8")) == _normalized(DEMO)
    toml_out = tmp_path / "out.toml"
    assert run("export", str(toml_out), config=config).returncode == 0
    again = run("import", str(toml_out), config=config)  # TOML in, same configuration
    assert again.returncode == 0, again.stderr
    assert "(revision 2)" in again.stdout
    skipped = run("import", "--if-empty", str(DEMO), config=config)
    assert "nothing imported" in skipped.stdout


def _normalized(path: Path) -> object:
    """The demo file as export writes it: every rule with its priority and enabled flag."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for rule in data["accounts"]["demo"]["keyword_rules"]:
        rule.setdefault("priority", 0)
        rule.setdefault("enabled", True)
    return data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("accounts: {nobody: {}}", "accounts.nobody: no such account in the settings"),
        (
            "accounts: {demo: {keyword_rules: [{name: a, keywords: [{regex: '('}],"
            " reply: [{text: x}]}]}}",
            "accounts.demo.keyword_rules[0].keywords[0]: regex '(' does not compile",
        ),
        (
            "accounts: {demo: {channels: [{name: c, follow_reply: [{text: a}, "
            "{news: [{title: a}, {title: b}]}]}]}}",
            "accounts.demo.channels[0].follow_reply[1]: later messages go out as customer-service",
        ),
        (
            "accounts: {demo: {default_follow_reply: [{text: \"{{ ''.__class__ }}\"}]}}",
            "accounts.demo.default_follow_reply[0].content: template fails on a sample customer",
        ),
        ("accounts: [1, 2", "not valid YAML"),
        (
            "accounts: {demo: {channels: [{name: " + "c" * 65 + "}]}}",
            "accounts.demo.channels[0].name: a QR code scene is at most 64 characters",
        ),
        (
            "accounts: {demo: {menu_replies: {" + "键" * 43 + ": [{text: x}]}}}",
            "menu key is at most 128 bytes (UTF-8); this one has 129",
        ),
    ],
)
def test_a_bad_file_is_refused_whole_with_its_place(
    tmp_path: Path, db_url: str, content: str, message: str
) -> None:
    config = settings(tmp_path, db_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    done = run("import", str(bad), config=config)
    assert done.returncode == 1
    assert message in done.stderr
    assert run("import", "--if-empty", str(DEMO), config=config).returncode == 0  # still empty


def test_commands_refuse_an_unmigrated_database_and_bad_settings(tmp_path: Path) -> None:
    config = settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    done = run("export", config=config)
    assert done.returncode == 1
    assert "run `opsbot db upgrade`" in done.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text('[server]\nport = "eighty"\n', encoding="utf-8")
    done = run("serve", config=broken)
    assert done.returncode == 2
    assert "server.port must be an integer" in done.stderr


@pytest.fixture
def serving(tmp_path: Path, db_url: str) -> Iterator[Path]:
    """``opsbot serve`` on the embedded default shape (SQLite or PostgreSQL, sandbox on)."""
    config = settings(tmp_path, db_url, unused_port(), unused_port())
    assert run("import", str(DEMO), config=config).returncode == 0
    proc = subprocess.Popen(
        [*OPSBOT, "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while "Press Ctrl+C" not in (line := proc.stdout.readline()):
            assert line or proc.poll() is None, "opsbot serve stopped"
            assert time.monotonic() < deadline, "opsbot serve did not start"
        yield config
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0  # a clean stop on SIGTERM


def test_serve_and_chat_like_a_customer(serving: Path) -> None:
    """The README's first minutes: a follow through a channel code, a keyword, a menu click."""
    _wait_for_channel_codes(serving)
    done = run(
        "chat",
        "--wait",
        "2.5",
        config=serving,
        stdin="/follow spring_campaign\n价格\n/click MENU_ABOUT\n",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "公众号（被动回复）> 欢迎通过「春季活动」关注我们！" in out
    assert "公众号（客服消息）> [图文] 春季活动详情" in out
    assert "公众号（客服消息）> 回复「报名」即可参加活动" in out
    assert "公众号（被动回复）> 基础版 ¥99/月" in out
    assert "公众号（被动回复）> opsbot：私域运营机器人演示号。" in out
    lines = out.splitlines()
    first = lines.index(next(line for line in lines if "欢迎通过" in line))
    news = lines.index(next(line for line in lines if "[图文]" in line))
    assert first < news  # the passive reply comes before the follow-ups


def _wait_for_channel_codes(config: Path) -> None:
    """The bot creates the channels' QR codes through the API right after start-up; the sandbox
    only lets a customer scan codes that exist."""
    sandbox = f"http://127.0.0.1:{_sandbox_port(config)}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        url = f"{sandbox}/sandbox/calls?path=/cgi-bin/qrcode/create"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            if len(json.load(resp)["calls"]) >= 2:
                return
        time.sleep(0.05)
    raise AssertionError("the channels' QR codes were not created")


def _sandbox_port(config: Path) -> str:
    text = config.read_text(encoding="utf-8")
    section = text[text.index("[sandbox]") :]
    return next(line.split("=")[1].strip() for line in section.splitlines() if "port" in line)


def test_chat_explains_when_no_sandbox_answers(tmp_path: Path, db_url: str) -> None:
    config = settings(tmp_path, db_url, unused_port(), unused_port())
    done = run("chat", config=config, stdin="")
    assert done.returncode == 1
    assert "start the bot with `make run`" in done.stderr


def test_scripts_import_is_all_or_nothing_and_export_gives_them_back(
    tmp_path: Path, db_url: str
) -> None:
    config = settings(tmp_path, db_url)
    demo_scripts = ROOT / "bot" / "demo" / "scripts.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        demo_scripts.read_text(encoding="utf-8") + "坏行,文本,x1,,,{{ order.no }},,\n",
        encoding="utf-8",
    )
    refused = run("scripts", "import", str(bad), config=config)
    assert refused.returncode == 1 and "第 7 行" in refused.stderr and "order" in refused.stderr
    done = run("scripts", "import", "--if-empty", str(demo_scripts), config=config)
    assert done.returncode == 0, done.stderr
    assert "demo: 5 scripts imported" in done.stdout
    again = run("scripts", "import", "--if-empty", str(demo_scripts), config=config)
    assert "nothing imported" in again.stdout
    out = tmp_path / "out.json"
    assert run("scripts", "export", str(out), config=config).returncode == 0
    exported = json.loads(out.read_text(encoding="utf-8"))["scripts"]
    assert [s["shortcode"] for s in exported] == ["hi", "tk01", "fh01", "hy01", "md01"]
