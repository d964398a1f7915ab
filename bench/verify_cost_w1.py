#!/usr/bin/env python3
"""W1 with and without checksum verification, end to end: the stock pyarrow Flight client gets the
10M-row frame whole from a Hangar server (`hangar serve`, as `npm start` runs it) over a store that
bench/verify_cost.mjs --keep DIR built: version 1 of bench/w1 records its segments' checksums
(verified on read), version 2 is the same segments with them stripped (read unverified, as
segments written before checksums are). Gets alternate A/B/B/A; per get, the wall time and the
server's CPU time (/proc/PID/stat, all its threads) are recorded; medians over --runs pairs.
Run twice: with the decoded-segment cache off (every get reads, verifies and decodes every segment)
and with it on (the harness's W1: repeated gets come from the cache).

Usage: node bench/verify_cost.mjs --keep DIR && .venv-interop/bin/python bench/verify_cost_w1.py DIR [--runs N]

With --builds A,B (two checkouts, each built to its dist/), two servers of those builds run side by
side over the same store with the cache off, and cold gets go round all four (build, version)
variants in a rotating order, so both builds' verification costs come from the same minutes; the
noise floor is A against A again (each variant's odd against even rounds).
"""
import argparse, json, os, statistics, subprocess, sys, time
import pyarrow.flight as flight

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(store, runs, cache_args):
    cmd = ["node", "--single-threaded-gc", "--initial-old-space-size=256", os.path.join(ROOT, "dist/cli/main.js"), "serve", "--port", "0", "--data", store, *cache_args]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        location = line.strip().split(" ")[-1]
        client = flight.connect(location)
        def get(version):
            ticket = flight.Ticket(json.dumps({"name": "w1", "bucket": "bench", "version": version}).encode())
            cpu0, t0 = server_cpu(server.pid), time.perf_counter()
            table = client.do_get(ticket).read_all()
            wall, cpu = time.perf_counter() - t0, server_cpu(server.pid) - cpu0
            assert table.num_rows > 0
            return wall, cpu
        for _ in range(2):
            get(1); get(2)
        results = {1: [], 2: []}
        for run in range(runs):
            order = [1, 2, 2, 1] if run % 2 == 0 else [2, 1, 1, 2]
            pair = {1: [], 2: []}
            for version in order:
                pair[version].append(get(version))
            for version in (1, 2):
                results[version].append(min(pair[version]))
        out = {}
        for version, name in ((1, "verified"), (2, "unverified")):
            out[name] = {"wall_s": round(statistics.median(w for w, _ in results[version]), 3), "server_cpu_s": round(statistics.median(c for _, c in results[version]), 3),
                         "walls": [round(w, 3) for w, _ in results[version]], "cpus": [round(c, 3) for _, c in results[version]]}
        v, u = out["verified"], out["unverified"]
        out["wall_cost_percent"] = round((v["wall_s"] - u["wall_s"]) / u["wall_s"] * 100, 1)
        out["cpu_cost_percent"] = round((v["server_cpu_s"] - u["server_cpu_s"]) / u["server_cpu_s"] * 100, 1)
        def halves(values):
            return abs(statistics.median(values[0::2]) - statistics.median(values[1::2])) / statistics.median(values) * 100
        out["wall_noise_floor_percent"] = round(max(halves(v["walls"]), halves(u["walls"])), 1)
        out["cpu_noise_floor_percent"] = round(max(halves(v["cpus"]), halves(u["cpus"])), 1)
        client.close()
        return out
    finally:
        server.terminate()
        server.wait()


def start_server(root, store, extra):
    cmd = ["node", "--single-threaded-gc", "--initial-old-space-size=256", os.path.join(root, "dist/cli/main.js"), "serve", "--port", "0", "--data", store, *extra]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    location = server.stdout.readline().strip().split(" ")[-1]
    return server, flight.connect(location)


def measure_builds(store, runs, builds):
    """Cold gets (cache off) of both versions from a server of each build, interleaved."""
    servers = [start_server(root, store, ["--read-cache-size", "0"]) for root in builds]
    try:
        def get(index, version):
            server, client = servers[index]
            ticket = flight.Ticket(json.dumps({"name": "w1", "bucket": "bench", "version": version}).encode())
            cpu0, t0 = server_cpu(server.pid), time.perf_counter()
            table = client.do_get(ticket).read_all()
            wall, cpu = time.perf_counter() - t0, server_cpu(server.pid) - cpu0
            assert table.num_rows > 0
            return wall, cpu
        variants = [(b, v) for b in range(len(builds)) for v in (1, 2)]
        for _ in range(2):
            for variant in variants:
                get(*variant)
        results = {variant: [] for variant in variants}
        for run in range(runs):
            shift = run % len(variants)
            order = variants[shift:] + variants[:shift]
            for variant in order + order[::-1]:
                results[variant].append(get(*variant))
        def halves(values):
            return abs(statistics.median(values[0::2]) - statistics.median(values[1::2])) / statistics.median(values) * 100
        out = {"builds": builds, "gets_per_variant": 2 * runs}
        for b, root in enumerate(builds):
            entry = {}
            for version, name in ((1, "verified"), (2, "unverified")):
                walls = [w for w, _ in results[(b, version)]]
                cpus = [c for _, c in results[(b, version)]]
                entry[name] = {"wall_s": round(statistics.median(walls), 3), "server_cpu_s": round(statistics.median(cpus), 3),
                               "cpus": [round(c, 3) for c in cpus], "walls": [round(w, 3) for w in walls],
                               "cpu_noise_floor_percent": round(halves(cpus), 1), "wall_noise_floor_percent": round(halves(walls), 1)}
            v, u = entry["verified"], entry["unverified"]
            entry["cpu_cost_percent"] = round((v["server_cpu_s"] - u["server_cpu_s"]) / u["server_cpu_s"] * 100, 1)
            entry["wall_cost_percent"] = round((v["wall_s"] - u["wall_s"]) / u["wall_s"] * 100, 1)
            out[f"build_{b}"] = entry
        return out
    finally:
        for server, client in servers:
            client.close()
            server.terminate()
            server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json")
    parser.add_argument("--builds", help="A,B: two checkouts with dist/ built; cold gets of both, interleaved")
    args = parser.parse_args()
    report = {"loadavg_start": os.getloadavg()[0]}
    if args.builds:
        report["cache_off"] = measure_builds(args.store, args.runs, args.builds.split(","))
        report["loadavg_end"] = os.getloadavg()[0]
        print(json.dumps(report, indent=2))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
        return
    report["cache_off"] = measure(args.store, args.runs, ["--read-cache-size", "0"])
    report["cache_on"] = measure(args.store, args.runs, [])
    report["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
