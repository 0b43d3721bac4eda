# Shared pieces of the benchmark scripts: build, start a release server on a temp data dir,
# run wrk and pull out requests/s and p99.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

have() { command -v "$1" >/dev/null 2>&1; }
if ! have wrk; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk is needed (apt-get install wrk)" >&2; exit 1
    fi
fi

cargo build --release --quiet --bin dangke
BIN=${CARGO_TARGET_DIR:-target}/release/dangke
BENCH_DIR=$(mktemp -d /tmp/dangke-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DANGKE_DATA_DIR="$BENCH_DIR/data" DANGKE_BIND="127.0.0.1:$PORT" DANGKE_LOG=warn
export DANGKE_WORKERS=${BENCH_WORKERS:-2}
[ -n "${BENCH_DATABASE_URL:-}" ] && export DATABASE_URL="$BENCH_DATABASE_URL"
[ -n "${BENCH_REDIS_URL:-}" ] && export REDIS_URL="$BENCH_REDIS_URL"
# Benchmarks log in many times: lift the login limits.
export DANGKE_LOGIN_RATE_PER_PHONE=100000/1m DANGKE_LOGIN_RATE_PER_IP=100000/1m
BASE="http://127.0.0.1:$PORT"
SERVER_PID=
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; rm -rf "$BENCH_DIR"; }
trap stop_server EXIT

start_server() {
    "$BIN" serve "$@" 2>"$BENCH_DIR/server.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$BENCH_DIR/server.log" >&2; exit 1
}

login() { # phone password -> access token
    curl -fs "$BASE/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"phone\":\"$1\",\"password\":\"$2\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# run_wrk NAME URL [wrk args…] -> prints "NAME rps p99" and sets RPS
run_wrk() {
    local name=$1 url=$2; shift 2
    local out
    out=$(wrk -t2 -c"${BENCH_CONNECTIONS:-64}" -d"${BENCH_SECONDS:-10}s" --latency "$@" "$url")
    RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local p99 non2xx
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-28s %12s req/s   p99 %-8s non-2xx %s\n' "$name" "$RPS" "$p99" "${non2xx:-0}"
}
