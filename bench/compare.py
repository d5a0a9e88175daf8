#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Times two commands side by side, interleaved, and prints min/median/max and the ratio.

  bench/compare.py --runs 50 --name "runtime run true" \
      --a "berth-runtime run ..." --b "runc run ..." [--setup CMD] [--teardown CMD]

Each run executes A then B (alternating which goes first) so that machine noise hits both.
--setup/--teardown run around every single timed command and are not timed. Commands run via
/bin/sh. A command that fails aborts the benchmark with its output. Prints one summary line that
bench/run-all.sh collects into docs/benchmarks.md format. Never fails on a wall-clock number.
"""
import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd, setup, teardown):
    if setup:
        subprocess.run(setup, shell=True, check=True, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    if teardown:
        subprocess.run(teardown, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"bench: command failed ({p.returncode}): {cmd}\n{p.stdout.decode(errors='replace')}")
    return dt * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--a", required=True, help="berth's command")
    ap.add_argument("--b", help="the peer's command (omit when the peer is not installed)")
    ap.add_argument("--a-label", default="berth")
    ap.add_argument("--b-label", default="peer")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--setup")
    ap.add_argument("--teardown")
    args = ap.parse_args()

    for _ in range(args.warmup):
        timed(args.a, args.setup, args.teardown)
        if args.b:
            timed(args.b, args.setup, args.teardown)
    a, b = [], []
    for i in range(args.runs):
        order = [(args.a, a), (args.b, b)] if i % 2 == 0 else [(args.b, b), (args.a, a)]
        for cmd, out in order:
            if cmd:
                out.append(timed(cmd, args.setup, args.teardown))

    def summary(xs):
        return f"min {min(xs):.2f} / median {statistics.median(xs):.2f} / max {max(xs):.2f} ms"

    print(f"== {args.name} ({args.runs} interleaved runs)")
    print(f"  {args.a_label:>8}: {summary(a)}")
    if b:
        print(f"  {args.b_label:>8}: {summary(b)}")
        ratio = statistics.median(b) / statistics.median(a)
        print(f"  ratio: {args.b_label}/{args.a_label} median = {ratio:.2f}x")
        print(f"| {args.name} | {statistics.median(a):.2f} ms | {statistics.median(b):.2f} ms | {ratio:.2f}x |")
    else:
        print(f"  ({args.b_label} not installed: no ratio)")
        print(f"| {args.name} | {statistics.median(a):.2f} ms | n/a | n/a |")


if __name__ == "__main__":
    main()
