#!/usr/bin/env python3
"""The burst of scripts/bench/province: members complete a lesson each through
`POST /v1/progress/sync`, then the first province summary applies the burst.

    province_burst.py BASE ADMIN_TOKEN ROOT_ORG MEMBERS_CSV CLIENTS YEAR

MEMBERS_CSV: `user_id,phone,lesson_id` lines (an article lesson the member has not
started). The server must run with DANGKE_CHANGES_EVERY=0, so nothing applies the burst's
changes before the summary read does. DATABASE_URL (psql) counts the pending changes.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

base, admin, root, csv_path, clients, year = sys.argv[1:7]
clients = int(clients)
members = [line.strip().split(",") for line in open(csv_path) if line.strip()]


def call(method, path, token=None, body=None):
    """(status, parsed JSON body or None, seconds)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    took = time.perf_counter() - start
    return status, (json.loads(raw) if raw else None), took


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def pending():
    out = subprocess.run(
        ["psql", os.environ["DATABASE_URL"], "-Atc",
         "SELECT count(*) FROM changes WHERE consumer = 'stats'"],
        capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def log_in(m):
    """A session for the member: a login code from the admin, then a password with it."""
    user_id, phone, lesson = m
    s, body, _ = call("POST", f"/v1/members/{user_id}/login-code", admin)
    if s != 201:
        raise SystemExit(f"login code for {user_id}: {s} {body}")
    s, body, _ = call("POST", "/v1/auth/password-reset", None,
                      {"phone": phone, "code": body["code"], "new_password": "burst-pass-1"})
    if s != 200:
        raise SystemExit(f"password reset for {user_id}: {s} {body}")
    return (body["access_token"], int(lesson))


def summary(query):
    s, body, took = call("GET", f"/v1/orgs/{root}/stats?{query}", admin)
    if s != 200:
        raise SystemExit(f"summary: {s} {body}")
    return body, took * 1000


with ThreadPoolExecutor(clients) as pool:
    sessions = list(pool.map(log_in, members))

# Whatever setting up the sessions recorded is applied now, before the burst.
before, _ = summary(f"period={year}")
earned_before = before["credit"]["earned_centi"]
quiet = [summary(f"from={year}-01-01&to={year}-10-{d:02d}")[1] for d in range(1, 6)]

# Three read events of 20 s ending a minute ago: the lesson's minimum reading time (60 s).
end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)


def sync(i_session):
    i, (token, lesson) = i_session
    events = []
    for e in range(3):
        started = end - timedelta(seconds=60 - 20 * e)
        events.append({
            "client_event_id": f"burst-{i}-{lesson}-{e}",
            "lesson_id": lesson,
            "kind": "read",
            "from_s": 20 * e,
            "to_s": 20 * e + 20,
            "started_at": started.isoformat().replace("+00:00", "Z"),
            "ended_at": (started + timedelta(seconds=20)).isoformat().replace("+00:00", "Z"),
        })
    s, body, took = call("POST", "/v1/progress/sync", token, {"events": events})
    if s != 200:
        raise SystemExit(f"sync: {s} {body}")
    credit = sum(c["credit_centi"] for c in body["credited"])
    return took * 1000, credit


start = time.perf_counter()
with ThreadPoolExecutor(clients) as pool:
    results = list(pool.map(sync, enumerate(sessions)))
burst_s = time.perf_counter() - start
lat = [r[0] for r in results]
credited = sum(r[1] for r in results)
waiting = pending()
print(f"burst: {len(results)} syncs ({clients} at once) in {burst_s:.2f} s "
      f"({len(results) / burst_s:.0f}/s), sync p50 {pct(lat, 50):.1f} ms p99 {pct(lat, 99):.1f} ms; "
      f"{credited / 100:.2f} credit hours granted; {waiting} statistics changes pending")

after, first_ms = summary(f"period={year}")
grown = after["credit"]["earned_centi"] - earned_before
again = [summary(f"from={year}-01-01&to={year}-09-{d:02d}")[1] for d in range(1, 6)]
print(f"province summary before the burst (uncached, nothing pending): "
      f"median {pct(quiet, 50):.1f} ms of {', '.join(f'{x:.0f}' for x in quiet)}")
print(f"first province summary after the burst (applies {waiting} changes): {first_ms:.1f} ms; "
      f"earned credit grew by {grown / 100:.2f} h (granted {credited / 100:.2f} h): "
      f"{'reflected' if grown == credited else 'NOT REFLECTED'}")
print(f"province summary after (uncached): median {pct(again, 50):.1f} ms of "
      f"{', '.join(f'{x:.0f}' for x in again)}")
print(f"so applying the burst took about {first_ms - pct(quiet, 50):.0f} ms "
      f"(first read minus the median uncached read); {pending()} changes pending now")
if grown != credited:
    sys.exit(1)
