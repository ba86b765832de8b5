"""``make bench``: run the benchmarks and print their figures with the same-run references."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import timeit
from pathlib import Path

from bench import callback
from handlers.matching import Keyword, KeywordIndex, KeywordRule


def matcher_micro() -> list[tuple[int, float]]:
    """Microseconds per match at 10 and 10,000 rules (in-process, for context)."""
    figures = []
    for count in (10, 10_000):
        rules = [
            KeywordRule(i, 0, tuple(Keyword(kind, text) for kw in r["keywords"]
                                    for kind, text in kw.items()))  # type: ignore[misc]
            for i, r in enumerate(callback.rules(count))
        ]  # fmt: skip
        index = KeywordIndex(rules)
        messages = [m for m, _ in callback.MESSAGES]
        n = 20_000
        seconds = timeit.timeit(lambda: [index.match(m) for m in messages], number=n)
        figures.append((count, seconds / (n * len(messages)) * 1e6))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=200_000, help="pre-built callbacks per run")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (Debian: apt-get install wrk util-linux)")
            return 2
    load = callback.Load(seconds=args.seconds, connections=args.connections)
    print(f"callback benchmark: safe (AES) mode, text messages answered by keyword rules; "
          f"servers on CPU 0, wrk on CPU 1 ({load.connections} connections, "
          f"{load.warmup} s warm-up, {load.seconds} s measured)", flush=True)  # fmt: skip

    workdir = Path(tempfile.mkdtemp(prefix="opsbot-bench-ref-"))
    try:
        requests = workdir / "requests.txt"
        fake = callback.account(0)
        callback.write_requests(requests, fake, 50_000, first_msg_id=1)
        bare = callback.run_reference("bare aiohttp, answers success", "bench.bare_server", [],
                                      load, requests)  # fmt: skip
        naive = callback.run_reference(
            "aiohttp + wechatpy, stores nothing", "bench.naive_server",
            [callback.TOKEN, callback.AES_KEY, callback.APP_ID], load, requests,
        )  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ten, stored_ten = callback.run_opsbot(10, load, args.requests)
    many, stored_many = callback.run_opsbot(10_000, load, args.requests)

    print(f"\n{'server':<40}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}{'errors':>8}")
    for r in (bare, naive, ten, many):
        print(f"{r.name:<40}{r.rps:>10,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
              f"{r.rps / bare.rps:>9.2f}{r.bad:>8}")  # fmt: skip
    ratio = ten.rps / bare.rps
    scale = many.rps / ten.rps
    print(f"\n(a) opsbot / bare handler, 10 rules:        {ratio:.2f}  (target >= 0.35)")
    print(f"(b) opsbot 10,000 rules / 10 rules:          {scale:.2f}  (target >= 0.90)")
    print(
        f"durable: every answered callback was committed first; stored records after the runs: "
        f"{stored_ten:,} (10 rules), {stored_many:,} (10,000 rules)"
    )
    for count, micro in matcher_micro():
        print(f"keyword matching alone, {count:>6,} rules: {micro:.2f} us per message")
    ok = ratio >= 0.35 and scale >= 0.90 and not (ten.bad or many.bad)
    print("\nresult: " + ("targets met" if ok else "TARGETS NOT MET"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
