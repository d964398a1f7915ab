#!/usr/bin/env python3
"""W1 with and without checksum verification, end to end: the stock pyarrow Flight client gets the
10M-row frame (440 MB of Arrow) whole from a Hangar server (`hangar serve`, as `npm start` runs
it). The store holds three versions of bench/w1 over the very same segment files (built by
`node bench/verify_cost.mjs --keep DIR --build-only`, or by this script when STORE is absent):
version 1 records the segments' checksums (verified on read), version 2 has them stripped (read
unverified, as segments written before checksums are), and version 3 is version 1 again (verified:
the A/A twin). Each round gets the three in a rotating order and then in reverse (so every variant
runs early and late alike: A/B/B/A over three), keeping each variant's faster get of the round;
per get, the wall time and the server's CPU time (/proc/PID/stat, all its threads). Reported:
medians over the rounds, the cost (verified against unverified) and the noise floor (verified
against its twin, same server, same minutes). Run with the decoded-segment cache off (every get
reads, verifies and decodes every segment: a cold get) and on (the harness's W1: repeated gets come
from the cache, checked when filled). About 3 minutes on 2 loaded vCPUs with the defaults.

Usage: npm run build && .venv-interop/bin/python bench/verify_cost_w1.py [STORE] [--runs N] [--json PATH]
(default JSON: bench/results/verify-cost-w1.json)

With --builds A,B (two checkouts, each built to its dist/), two servers of those builds run side by
side over the same store with the cache off, and cold gets go round all four (build, version)
variants in a rotating order, so both builds' verification costs come from the same minutes; the
noise floor is A against A again (each variant's odd against even rounds).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
import pyarrow.flight as flight

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
VARIANTS = ((1, "verified"), (2, "unverified"), (3, "verified_twin"))


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percent(a, b):
    return round((a - b) / b * 100, 1)


def measure(store, runs, cache_args):
    server, client = start_server(ROOT, store, cache_args)
    try:
        def get(version):
            ticket = flight.Ticket(json.dumps({"name": "w1", "bucket": "bench", "version": version}).encode())
            cpu0, t0 = server_cpu(server.pid), time.perf_counter()
            table = client.do_get(ticket).read_all()
            wall, cpu = time.perf_counter() - t0, server_cpu(server.pid) - cpu0
            assert table.num_rows > 0
            return wall, cpu
        versions = [version for version, _ in VARIANTS]
        for _ in range(2):
            for version in versions:
                get(version)
        results = {version: [] for version in versions}
        for run in range(runs):
            shift = run % len(versions)
            order = versions[shift:] + versions[:shift]
            got = {version: [] for version in versions}
            for version in order + order[::-1]:
                got[version].append(get(version))
            for version in versions:
                results[version].append(min(got[version]))
        out = {"loadavg": os.getloadavg()[0]}
        for version, name in VARIANTS:
            walls = [w for w, _ in results[version]]
            cpus = [c for _, c in results[version]]
            out[name] = {"wall_s": round(statistics.median(walls), 3), "server_cpu_s": round(statistics.median(cpus), 3),
                         "walls": [round(w, 3) for w in walls], "cpus": [round(c, 3) for c in cpus]}
        v, u, t = out["verified"], out["unverified"], out["verified_twin"]
        out["wall_cost_percent"] = percent(v["wall_s"], u["wall_s"])
        out["cpu_cost_percent"] = percent(v["server_cpu_s"], u["server_cpu_s"])
        # A/A: the verified version against its twin (the same work), same server, same minutes.
        out["wall_aa_percent"] = percent(t["wall_s"], v["wall_s"])
        out["cpu_aa_percent"] = percent(t["server_cpu_s"], v["server_cpu_s"])
        # The verified variants together against unverified (twice the verified gets).
        both = sorted(v["cpus"] + t["cpus"])
        out["cpu_cost_percent_both_verified"] = percent(statistics.median(both), u["server_cpu_s"])
        both_walls = sorted(v["walls"] + t["walls"])
        out["wall_cost_percent_both_verified"] = percent(statistics.median(both_walls), u["wall_s"])
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


def build_store(store):
    """Builds the three versions of bench/w1 in STORE (bench/verify_cost.mjs --build-only)."""
    subprocess.run(["node", "--single-threaded-gc", "--initial-old-space-size=256", os.path.join(ROOT, "bench/verify_cost.mjs"), "--keep", store, "--build-only"],
                   check=True, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("store", nargs="?", help="a store built by bench/verify_cost.mjs --keep DIR --build-only (default: built in a temporary directory)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=os.path.join(ROOT, "bench/results/verify-cost-w1.json"))
    parser.add_argument("--builds", help="A,B: two checkouts with dist/ built; cold gets of both, interleaved")
    args = parser.parse_args()
    started = time.perf_counter()
    report = {"loadavg_start": os.getloadavg()[0], "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": args.runs}
    temporary = None
    store = args.store
    if store is None or not os.path.isdir(os.path.join(store, "bench", "w1")):
        if store is None:
            temporary = store = tempfile.mkdtemp(prefix="hangar-verify-w1-")
        build_store(store)
    try:
        if args.builds:
            report["cache_off"] = measure_builds(store, args.runs, args.builds.split(","))
        else:
            report["cache_off"] = measure(store, args.runs, ["--read-cache-size", "0"])
            report["cache_on"] = measure(store, args.runs, [])
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    report["loadavg_end"] = os.getloadavg()[0]
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
