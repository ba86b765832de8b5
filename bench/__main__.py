"""``make bench``: run the benchmarks and print their figures with the same-run references.

``python -m bench`` runs them all: script search in-process (:mod:`bench.search`) and through
the server (:mod:`bench.search_server`), the callback benchmark, then the group SOP one
(:mod:`bench.sop`: the scheduler planning and firing 10,000 executions against the bare platform
calls) and the welcome one (:mod:`bench.welcome`: 2,000 new WeCom customers welcomed by the bot
against the bare send_welcome_msg calls); ``python -m bench search``, ``callback``, ``sop`` or
``welcome`` runs one part. The exit status is 1 when a target is not met (for ``sop`` and
``welcome``: when a count is wrong; their timings are only reported).

The callback benchmark runs in rounds; each round measures the bare reference and opsbot back
to back, so every ratio compares runs minutes apart on the same machine. The figures reported
are the medians over the rounds, with every round shown.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import sys
import tempfile
import timeit
from collections.abc import Sequence
from pathlib import Path

from bench import callback, search, search_server, sop, welcome
from handlers.matching import Keyword, KeywordIndex, KeywordRule


def matcher_micro() -> list[tuple[int, float]]:
    """Microseconds per match at 10 and 10,000 rules (in-process, for context)."""
    figures = []
    messages = [m for m, _ in callback.MESSAGES]
    for count in (10, 10_000):
        rules = [
            KeywordRule(i, 0, tuple(Keyword(k, t) for kw in r["keywords"] for k, t in kw.items()))
            for i, r in enumerate(callback.rules(count))
        ]
        index = KeywordIndex(rules)
        n = 20_000
        seconds = timeit.timeit(functools.partial(_match_all, index, messages), number=n)
        figures.append((count, seconds / (n * len(messages)) * 1e6))
    return figures


def _match_all(index: KeywordIndex, messages: Sequence[str]) -> None:
    for message in messages:
        index.match(message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "which",
        nargs="?",
        choices=("all", "callback", "search", "sop", "welcome"),
        default="all",
        help="what to run",
    )
    parser.add_argument("--rounds", type=int, default=3, help="callback benchmark rounds")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=200_000, help="pre-built callbacks per run")
    sop.add_arguments(parser)
    welcome.add_arguments(parser, database_url=False)  # sop's --database-url serves both
    args = parser.parse_args(argv)
    if args.which in ("all", "callback"):
        for tool in ("wrk", "taskset"):
            if shutil.which(tool) is None:
                print(f"bench: {tool} is not installed (Debian: apt-get install wrk util-linux)")
                return 2
    failed = 0
    if args.which in ("all", "search"):
        failed |= search.main([])
        print(flush=True)
        failed |= search_server.main([])
    if args.which in ("all", "callback"):
        if args.which == "all":
            print(flush=True)
        failed |= run_callback(args)
    if args.which in ("all", "sop"):
        if args.which == "all":
            print(flush=True)
        failed |= sop.measure(args)
    if args.which in ("all", "welcome"):
        if args.which == "all":
            print(flush=True)
        failed |= welcome.measure(args)
    return 1 if failed else 0


def run_callback(args: argparse.Namespace) -> int:
    load = callback.Load(seconds=args.seconds, connections=args.connections)
    print(
        "callback benchmark: safe (AES) mode, text messages answered by keyword rules; servers "
        f"on CPU 0, wrk on CPU 1 ({load.connections} connections, {load.warmup} s warm-up, "
        f"{load.seconds} s measured); {args.rounds} rounds",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-ref-"))
    rounds = []
    try:
        requests = workdir / "requests.txt"
        callback.write_requests(requests, callback.account(0), 50_000, first_msg_id=1)
        naive = callback.run_reference(
            "aiohttp + wechatpy, stores nothing",
            "bench.naive_server",
            [callback.TOKEN, callback.AES_KEY, callback.APP_ID],
            load,
            requests,
        )
        for number in range(1, args.rounds + 1):
            bare = callback.run_reference(
                "bare aiohttp, answers success", "bench.bare_server", [], load, requests
            )
            ten, _ = callback.run_opsbot(10, load, args.requests)
            many, stored = callback.run_opsbot(10_000, load, args.requests)
            rounds.append((bare, ten, many))
            print(
                f"round {number}: bare {bare.rps:,.0f}, opsbot 10 rules {ten.rps:,.0f}, "
                f"10,000 rules {many.rps:,.0f} req/s; {stored:,} callbacks stored",
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def median(pick: int, attr: str) -> float:
        return float(statistics.median(getattr(r[pick], attr) for r in rounds))

    print(
        f"\n{'server (median of rounds)':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for name, pick in (
        ("bare aiohttp, answers success", 0),
        ("opsbot, 10 keyword rules", 1),
        ("opsbot, 10,000 keyword rules", 2),
    ):
        errors = sum(r[pick].bad for r in rounds)
        print(
            f"{name:<40}{median(pick, 'rps'):>10,.0f}{median(pick, 'p50_ms'):>9.2f}"
            f"{median(pick, 'p99_ms'):>9.2f}{errors:>8}"
        )
    print(
        f"{naive.name + ' (once)':<40}{naive.rps:>10,.0f}{naive.p50_ms:>9.2f}"
        f"{naive.p99_ms:>9.2f}{naive.bad:>8}"
    )
    ratios = [ten.rps / bare.rps for bare, ten, _ in rounds]
    scales = [many.rps / ten.rps for _, ten, many in rounds]
    ratio, scale = statistics.median(ratios), statistics.median(scales)
    print(
        f"\n(a) opsbot / bare handler, 10 rules:  {ratio:.3f}  (rounds: "
        f"{', '.join(f'{r:.3f}' for r in ratios)}; target >= 0.35)"
    )
    print(f"    naive wechatpy handler / bare:      {naive.rps / median(0, 'rps'):.3f}")
    print(
        f"(b) opsbot 10,000 rules / 10 rules:    {scale:.3f}  (rounds: "
        f"{', '.join(f'{s:.3f}' for s in scales)}; target >= 0.90)"
    )
    for count, micro in matcher_micro():
        print(f"keyword matching alone, {count:>6,} rules: {micro:.2f} us per message")
    errors = sum(r[1].bad + r[2].bad for r in rounds)
    ok = ratio >= 0.35 and scale >= 0.90 and not errors
    print("\nresult: " + ("targets met" if ok else "TARGETS NOT MET"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
