"""The ``opsbot`` command line.

    opsbot serve               run the bot (and, on the embedded default, the sandbox platforms)
    opsbot db upgrade          create or migrate the database schema
    opsbot import FILE         load reply configuration (YAML or TOML); --if-empty, --check
    opsbot export [FILE]       write the reply configuration back out
    opsbot scripts import FILE load shared scripts (CSV or JSON; all or nothing); --if-empty
    opsbot scripts export FILE write the shared scripts (.csv or .json)
    opsbot sandbox             run only the platform fakes
    opsbot chat                be a customer of an Official Account in the sandbox
    opsbot chat --as admin     be an admin in the WeCom app chat (--via telegram)

Every command takes ``--config FILE`` (or ``OPSBOT_CONFIG``); without one the embedded default
(``bot/demo/opsbot.toml``) is used.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings
from handlers.config import ConfigError
from storage.migrate import SchemaNotReady

log = logging.getLogger("opsbot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"opsbot: settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx (under python-telegram-bot) logs each request URL, which carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        result: int = asyncio.run(args.run(settings, args))
        return result
    except (SchemaNotReady, ConfigError) as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    parser = argparse.ArgumentParser(prog="opsbot", description="Private-domain operations bot.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the bot")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", parents=[common], help="migrate to the latest schema"
    )
    upgrade.set_defaults(run=_db_upgrade)

    imp = commands.add_parser("import", parents=[common], help="load reply configuration")
    imp.add_argument("file", help="a .yaml, .yml or .toml file")
    imp.add_argument("--if-empty", action="store_true", help="only if no configuration is stored")
    imp.add_argument("--check", action="store_true", help="validate only, write nothing")
    imp.set_defaults(run=_import)

    exp = commands.add_parser("export", parents=[common], help="write reply configuration")
    exp.add_argument("file", nargs="?", help="output file (.yaml or .toml); default: stdout")
    exp.add_argument("--format", choices=("yaml", "toml"), help="format for stdout (default yaml)")
    exp.add_argument("--account", action="append", help="only these accounts (repeatable)")
    exp.set_defaults(run=_export)

    scripts = commands.add_parser("scripts", help="the enterprise script library")
    script_commands = scripts.add_subparsers(dest="scripts_command", required=True)
    for name, helptext in (("import", "load shared scripts"), ("export", "write shared scripts")):
        sub = script_commands.add_parser(name, parents=[common], help=helptext)
        sub.add_argument("file", help="a .csv or .json file")
        sub.add_argument("--account", help="Official Account name (default: the first)")
        sub.add_argument("--as", dest="person", default="cli", help="recorded as the author")
        sub.set_defaults(run=_scripts_import if name == "import" else _scripts_export)
        if name == "import":
            sub.add_argument("--check", action="store_true", help="validate only, write nothing")
            sub.add_argument(
                "--if-empty", action="store_true", help="only if the library has no script"
            )
        else:
            sub.add_argument("--format", choices=("csv", "json"), help="default: from the name")

    sandbox = commands.add_parser("sandbox", parents=[common], help="run the platform fakes only")
    sandbox.set_defaults(run=_sandbox)

    chat = commands.add_parser(
        "chat", parents=[common], help="be a customer (or staff, admin) in the sandbox"
    )
    chat.add_argument(
        "--as",
        dest="role",
        choices=("customer", "staff", "admin"),
        default="customer",
        help="customer of the Official Account (default), or staff/admin in a staff chat",
    )
    chat.add_argument(
        "--via", choices=("wecom", "telegram"), default="wecom", help="the staff chat to use"
    )
    chat.add_argument("--user", help="staff chat: act as this user id (default: from settings)")
    chat.add_argument("--account", help="Official Account name (default: the first configured)")
    chat.add_argument("--openid", help="act as this customer (default: a new one)")
    chat.add_argument(
        "--wait", type=float, default=3.0, help="seconds to keep listening after the input ends"
    )
    chat.set_defaults(run=_chat)
    return parser


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import serve

    await serve(settings)
    return 0


async def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import engine_for
    from storage.migrate import current_revision, upgrade

    engine = engine_for(settings)
    try:
        await upgrade(engine)
        print(f"database schema at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import engine_for
    from bot.config_file import has_configuration, import_configs, parse, read_file
    from storage.migrate import ensure_current

    configs = parse(read_file(args.file), settings)
    if args.check:
        print(f"{args.file} is valid ({', '.join(c.account for c in configs)})")
        return 0
    engine = engine_for(settings)
    try:
        await ensure_current(engine)
        if args.if_empty and await has_configuration(engine):
            print("configuration already stored; nothing imported (--if-empty)")
            return 0
        for report in await import_configs(engine, configs):
            print(
                f"{report.account}: {report.rules} keyword rules, {report.channels} channels "
                f"imported (revision {report.revision})"
            )
    finally:
        await engine.dispose()
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import engine_for
    from bot.config_file import dump, export_configs, file_format
    from storage.migrate import ensure_current

    fmt = file_format(args.file) if args.file else (args.format or "yaml")
    accounts = args.account or list(settings.wechat)
    engine = engine_for(settings)
    try:
        await ensure_current(engine)
        text = dump(await export_configs(engine, accounts), fmt)
    finally:
        await engine.dispose()
    if args.file:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
        print(f"wrote {args.file}")
    else:
        sys.stdout.write(text)
    return 0


async def _scripts_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import engine_for
    from scripts_library.library import ScriptLibrary
    from scripts_library.transfer import ImportProblems, parse
    from storage.migrate import ensure_current

    text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8-sig")
    try:
        drafts = parse(text)
    except ImportProblems as exc:
        print(f"opsbot: {args.file} was not imported:\n{exc.describe()}", file=sys.stderr)
        return 1
    if args.check:
        print(f"{args.file} is valid ({len(drafts)} scripts)")
        return 0
    account = args.account or settings.managed_account("")
    engine = engine_for(settings)
    try:
        await ensure_current(engine)
        library = ScriptLibrary(engine)
        if args.if_empty and await library.all(account, viewer=""):
            print("the script library is not empty; nothing imported (--if-empty)")
            return 0
        ids = await library.import_all(account, drafts, args.person)
    finally:
        await engine.dispose()
    print(f"{account}: {len(ids)} scripts imported")
    return 0


async def _scripts_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import engine_for
    from scripts_library.library import ScriptLibrary
    from scripts_library.transfer import export_csv, export_json
    from storage.migrate import ensure_current

    form = args.format or ("json" if args.file.endswith(".json") else "csv")
    account = args.account or settings.managed_account("")
    engine = engine_for(settings)
    try:
        await ensure_current(engine)
        scripts = await ScriptLibrary(engine).all(account)
    finally:
        await engine.dispose()
    text = export_csv(scripts) if form == "csv" else export_json(scripts)
    await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
    print(f"wrote {len(scripts)} scripts to {args.file}")
    return 0


async def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import serve_sandbox_only

    await serve_sandbox_only(settings)
    return 0


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    if args.role != "customer":
        from bot.staff_cli import run_staff_chat

        return await run_staff_chat(
            settings, via=args.via, role=args.role, user=args.user, linger=args.wait
        )
    from bot.chat import run_chat

    return await run_chat(settings, account=args.account, openid=args.openid, linger=args.wait)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
