#!/usr/bin/env python3
"""Twenty organizers opening their dashboards at once (issue 19).

Run by scripts/bench/stats-county against its server (also usable by hand):

    scripts/bench/dashboards.py BASE TOKEN COUNTY_ID [CONCURRENCY]

Picks CONCURRENCY orgs of the county (every township, then branches), and times the org
summary (`GET /v1/orgs/{id}/stats`) uncached — every request a period not asked before,
so a different cache key — one request at a time over those orgs, and all of them at once
(curl --parallel), three rounds each. Prints p50/p95 of
both and the ratio of the concurrent p95 to the one-at-a-time p95, and the machine's CPU
time per dashboard of the bursts (from /proc/stat; with BENCH_SERVER_PID, the server's
share) with the earliest the 95th request of a burst could finish on this machine's cores.
"""
import json
import os
import sys
import subprocess
import urllib.request

BASE, TOKEN, COUNTY = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = int(sys.argv[4]) if len(sys.argv) > 4 else 20
PID = int(os.environ.get("BENCH_SERVER_PID") or 0)
ROUNDS = 3


def get(path):
    req = urllib.request.Request(BASE + path, headers={"authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


def children(org):
    status, body = get(f"/v1/orgs/{org}/stats/children?period=2025")
    assert status == 200, status
    return [item["org_id"] for item in json.loads(body)["items"]]


def curl_times(paths, parallel):
    """Times each request with curl (one process; with `parallel`, all transfers started
    at once by its event loop — no client threads competing for the GIL). Milliseconds."""
    args = ["curl", "-sf", "-w", "%{http_code} %{time_total}\\n",
            "-H", f"authorization: Bearer {TOKEN}"]
    if parallel:
        args += ["--parallel", "--parallel-immediate", "--parallel-max", str(len(paths))]
    for p in paths:
        args += ["-o", "/dev/null", BASE + p]
    out = subprocess.run(args, check=True,
                         capture_output=True, text=True).stdout.split("\n")
    times = []
    for line in filter(None, out):
        code, secs = line.split()
        assert code == "200", line
        times.append(float(secs) * 1000)
    assert len(times) == len(paths), out
    return times


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


townships = children(COUNTY)
orgs = list(townships[:N])
for t in townships:
    if len(orgs) >= N:
        break
    orgs += children(t)[: N - len(orgs)]
orgs = orgs[:N]

# A period per request that no earlier request asked for: from the 1st of a month of 2026
# (one per round and mode) to a day of November (one per org).
def path(org, mode, rnd, i):
    month = 1 + rnd * 2 + mode
    day = 1 + i % 28
    return f"/v1/orgs/{org}/stats?from=2026-{month:02d}-01&to=2026-11-{day:02d}"


def server_cpu_ms():
    """CPU time the server has used so far (user + system), when its pid is known."""
    if not PID:
        return 0.0
    fields = open(f"/proc/{PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def machine_busy_ms():
    """CPU time every process on the machine has used so far (the server, the database,
    curl: all the work of a dashboard), from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) * 1000 / os.sysconf("SC_CLK_TCK")


one, together, cpu, busy = [], [], 0.0, 0.0
for rnd in range(ROUNDS):
    for i, org in enumerate(orgs):
        one += curl_times([path(org, 0, rnd, i)], parallel=False)
    before, busy_before = server_cpu_ms(), machine_busy_ms()
    together += curl_times([path(org, 1, rnd, i) for i, org in enumerate(orgs)], parallel=True)
    cpu += server_cpu_ms() - before
    busy += machine_busy_ms() - busy_before

p95_one, p95_all = pct(one, 95), pct(together, 95)
print(
    f"dashboards ({len(orgs)} orgs) one at a time p50 {pct(one, 50):.1f} ms p95 {p95_one:.1f} ms;"
    f" {len(orgs)} at once p50 {pct(together, 50):.1f} ms p95 {p95_all:.1f} ms;"
    f" ratio {p95_all / p95_one:.2f}"
)
# What the machine can do at best: the CPU time of a dashboard (the whole machine's: server,
# database, client), spread over every core, for the 95th request of a burst.
per = busy / len(together)
floor = per * 0.95 * len(orgs) / os.cpu_count()
server = f"server {cpu / len(together):.2f} ms, " if PID else ""
print(f"dashboards: CPU {per:.2f} ms per dashboard ({server}the rest the database and"
      f" client); on {os.cpu_count()} cores the 95th of {len(orgs)} at once cannot finish"
      f" before {floor:.1f} ms")
