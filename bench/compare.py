#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Times two commands side by side, interleaved, and prints min/median/max and the ratio.

  bench/compare.py --runs 50 --name "runtime run true" \
      --a "berth-runtime run ..." --b "runc run ..." [--setup CMD] [--teardown CMD]

Each run executes A then B (alternating which goes first) so that machine noise hits both; with
--block K, blocks of K back-to-back runs alternate instead (so that what one side still does
after its command returned is not billed to the other side's next run).
--setup/--teardown run around every single timed command and are not timed. A plain command
(words, leading VAR=value assignments, steps joined by " && ") is exec'd directly, like
`hyperfine -N`: a shell's start-up (about 1 ms here, mostly glibc probing the CPU) is neither
side's work. Anything else runs via /bin/sh. A command that fails aborts the benchmark with
its output. --cpu also reports the CPU time (user+sys of the command and its children), which a
loaded machine disturbs far less than wall-clock time. Prints one summary line that
bench/run-all.sh collects into docs/benchmarks.md format. Never fails on a wall-clock number.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


SHELL_CHARS = set("|;&<>()$`\\\"'*?[]#~{}\n")


def direct_steps(cmd):
    """[(argv, env)] to exec one after the other for a plain command, or None (needs a shell)."""
    steps = []
    for part in cmd.split(" && "):
        if any(c in SHELL_CHARS for c in part):
            return None
        words = part.split()
        env = {}
        while words and "=" in words[0]:
            k, v = words[0].split("=", 1)
            if not k.isidentifier():
                break
            env[k] = v
            words.pop(0)
        if not words:
            return None
        steps.append((words, dict(os.environ, **env) if env else None))
    return steps


def run_cmd(cmd):
    steps = direct_steps(cmd)
    if steps is None:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Output to a file, not a pipe: a step may leave a process holding it (`runtime create`
    # leaves the container's init waiting for `start`), and a pipe would wait for that.
    with tempfile.TemporaryFile() as out:
        for argv, env in steps:
            p = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
            if p.returncode != 0:
                break
        out.seek(0)
        p.stdout = out.read()
    return p


def timed(cmd, setup, teardown):
    if setup:
        subprocess.run(setup, shell=True, check=True, stdout=subprocess.DEVNULL)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = run_cmd(cmd)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed.cpu_ms = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000.0
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
    ap.add_argument("--cpu", action="store_true", help="also report CPU time (user+sys)")
    ap.add_argument("--block", type=int, default=0,
                    help="alternate blocks of this many back-to-back runs instead of single runs; "
                         "the first run of a block is not counted (the other side's work after its "
                         "last run, e.g. a daemon's cleanup of the container it removed, may still "
                         "be going on)")
    args = ap.parse_args()

    for _ in range(args.warmup):
        timed(args.a, args.setup, args.teardown)
        if args.b:
            timed(args.b, args.setup, args.teardown)
    a, b, ca, cb = [], [], [], []
    if args.block > 0:
        i = 0
        while len(a) < args.runs or (args.b and len(b) < args.runs):
            order = [(args.a, a, ca), (args.b, b, cb)] if i % 2 == 0 else [(args.b, b, cb), (args.a, a, ca)]
            i += 1
            for cmd, out, cpu in order:
                if not cmd:
                    continue
                timed(cmd, args.setup, args.teardown)  # not counted: see --block
                for _ in range(min(args.block, args.runs - len(out))):
                    out.append(timed(cmd, args.setup, args.teardown))
                    cpu.append(timed.cpu_ms)
    else:
        for i in range(args.runs):
            order = [(args.a, a, ca), (args.b, b, cb)] if i % 2 == 0 else [(args.b, b, cb), (args.a, a, ca)]
            for cmd, out, cpu in order:
                if cmd:
                    out.append(timed(cmd, args.setup, args.teardown))
                    cpu.append(timed.cpu_ms)

    def summary(xs):
        return f"min {min(xs):.2f} / median {statistics.median(xs):.2f} / max {max(xs):.2f} ms"

    how = f"blocks of {args.block}" if args.block > 0 else "interleaved"
    print(f"== {args.name} ({args.runs} {how} runs)")
    print(f"  {args.a_label:>8}: {summary(a)}")
    if b:
        print(f"  {args.b_label:>8}: {summary(b)}")
        ratio = statistics.median(b) / statistics.median(a)
        print(f"  ratio: {args.b_label}/{args.a_label} median = {ratio:.2f}x")
        if args.cpu:
            print(f"  {args.a_label:>8} CPU: {summary(ca)}")
            print(f"  {args.b_label:>8} CPU: {summary(cb)}")
            cratio = statistics.median(cb) / max(statistics.median(ca), 1e-9)
            print(f"  ratio: {args.b_label}/{args.a_label} median CPU = {cratio:.2f}x")
        print(f"| {args.name} | {statistics.median(a):.2f} ms | {statistics.median(b):.2f} ms | {ratio:.2f}x |")
        if args.cpu:
            print(f"| {args.name} (CPU time) | {statistics.median(ca):.2f} ms | {statistics.median(cb):.2f} ms | {cratio:.2f}x |")
    else:
        print(f"  ({args.b_label} not installed: no ratio)")
        if args.cpu:
            print(f"  {args.a_label:>8} CPU: {summary(ca)}")
        print(f"| {args.name} | {statistics.median(a):.2f} ms | n/a | n/a |")


if __name__ == "__main__":
    main()
