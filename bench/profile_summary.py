#!/usr/bin/env python3
"""Summarises V8 .cpuprofile files (node --cpu-prof): top functions by self time, and self time
grouped by where the code lives (grpc-js, apache-arrow, hangar, node internals, wasm, GC ...).

Usage: python bench/profile_summary.py [--top N] [--callers FUNCTION]... FILE_OR_DIR...

Self time of a sample is the time until the next sample (V8's timeDeltas), attributed to the
function on top of the stack. "(idle)" is the thread waiting for work; percentages of "busy" exclude
it, so they say where the thread's CPU went.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path


def categorise(function: str, url: str) -> str:
    if function in ("(idle)", "(program)", "(garbage collector)", "(root)"):
        return function
    if url.startswith("wasm://") or "wasm-function" in function or re.match(r"^\$?wasm", function):
        return "wasm (parquet-wasm)"
    if "/@grpc/grpc-js/" in url:
        return "@grpc/grpc-js"
    if "/apache-arrow/" in url:
        return "apache-arrow"
    if "/parquet-wasm/" in url:
        return "parquet-wasm JS glue"
    if "/dist/flight/" in url:
        return "hangar dist/flight"
    if "/dist/" in url and "/node_modules/" not in url:
        return "hangar dist/" + url.split("/dist/", 1)[1].split("/", 1)[0]
    if "/src/core/parquet/" in url:
        return "hangar src/core/parquet"
    if url.startswith("node:"):
        return "node: " + url[len("node:"):].split("/")[0]
    if "/node_modules/" in url:
        return "node_modules/" + url.split("/node_modules/", 1)[1].split("/", 1)[0]
    if url == "":
        return "native/builtin (no url)"
    return "other"


def short_url(url: str) -> str:
    for marker in ("/node_modules/", "/dist/", "/src/"):
        if marker in url:
            return marker.strip("/") + "/" + url.split(marker, 1)[1]
    return url


def caller_chain(nodes: dict, parents: dict, node_id: int, depth: int) -> str:
    chain = []
    current = parents.get(node_id)
    while current is not None and len(chain) < depth:
        frame = nodes[current]["callFrame"]
        name = frame.get("functionName") or "(anonymous)"
        if name == "(root)":
            break
        chain.append(f"{name}@{short_url(frame.get('url', '')).rsplit('/', 1)[-1]}:{frame.get('lineNumber', -1) + 1}")
        current = parents.get(current)
    return " < ".join(chain) or "(top level)"


def summarise(path: Path, top: int, callers: list[str], depth: int) -> None:
    profile = json.loads(path.read_text())
    nodes = {node["id"]: node for node in profile["nodes"]}
    samples = profile.get("samples", [])
    deltas = profile.get("timeDeltas", [])
    by_function: Counter[tuple[str, str, int]] = Counter()
    by_category: Counter[str] = Counter()
    parents = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    by_chain: dict[str, Counter[str]] = {name: Counter() for name in callers}
    # timeDeltas[i] is the gap before sample i; the time a sample stands for is the gap after it.
    for i, node_id in enumerate(samples):
        us = deltas[i + 1] if i + 1 < len(deltas) else 0
        frame = nodes[node_id]["callFrame"]
        function = frame.get("functionName") or "(anonymous)"
        url = frame.get("url", "")
        by_function[(function, short_url(url), frame.get("lineNumber", -1) + 1)] += us
        by_category[categorise(function, url)] += us
        if function in by_chain:
            by_chain[function][caller_chain(nodes, parents, node_id, depth)] += us
    total = sum(by_category.values())
    idle = by_category.get("(idle)", 0)
    busy = max(1, total - idle)
    print(f"== {path.name}: {total / 1e6:.2f} s sampled, {busy / 1e6:.2f} s busy ({idle / 1e6:.2f} s idle)")
    print("   by category (share of busy time):")
    for category, us in by_category.most_common():
        if category == "(idle)":
            continue
        print(f"     {us / busy:6.1%}  {us / 1e3:9.0f} ms  {category}")
    print(f"   top {top} functions by self time:")
    shown = 0
    for (function, url, line), us in by_function.most_common():
        if function == "(idle)":
            continue
        where = f"{url}:{line}" if url else ""
        print(f"     {us / busy:6.1%}  {us / 1e3:9.0f} ms  {function}  {where}")
        shown += 1
        if shown >= top:
            break
    for name, chains in by_chain.items():
        if not chains:
            continue
        print(f"   callers of {name}:")
        for chain, us in chains.most_common(8):
            print(f"     {us / busy:6.1%}  {us / 1e3:9.0f} ms  {chain}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description="Summarise .cpuprofile files by self time.")
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--callers", action="append", default=[], metavar="FUNCTION",
                        help="also break FUNCTION's self time down by its call chain (repeatable)")
    parser.add_argument("--depth", type=int, default=4, help="frames of call chain to show (default 4)")
    args = parser.parse_args()
    files: list[Path] = []
    for path in args.paths:
        files.extend(sorted(path.glob("*.cpuprofile")) if path.is_dir() else [path])
    for file in files:
        summarise(file, args.top, args.callers, args.depth)


if __name__ == "__main__":
    main()
