#!/usr/bin/env bash
# Performance anchor: upstream Python ODCS 0.9.2 REST frontend (PyPI package
# `odcs`, Flask app `odcs.server:app`) under gunicorn with 2 sync workers on a
# seeded SQLite database, load-tested with wrk.
#
# The script only installs and runs the PyPI package; no ODCS code is copied.
#
# Environment:
#   ODCS_ANCHOR_VENV  venv to create or reuse     (default /tmp/odcs-anchor-venv)
#   BENCH_COMPOSES    composes to seed            (default 10000)
#   BENCH_SECONDS     wrk duration per run, secs  (default 10)
#   BENCH_WARMUP      warm-up seconds, 0 = none   (default 1)
#   PYTHON            interpreter for the venv    (default python3)
#
# Needs: wrk, curl, a C compiler plus libldap2-dev/libsasl2-dev (python-ldap
# has no wheels; odcs.server.auth imports `ldap` at import time). The Debian
# packages are installed with apt-get when missing and running as root.
set -euo pipefail

VENV="${ODCS_ANCHOR_VENV:-/tmp/odcs-anchor-venv}"
N="${BENCH_COMPOSES:-10000}"
SECS="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-1}"
PYTHON="${PYTHON:-python3}"
BACKEND_LABEL="ODCS 0.9.2 gunicorn 2 sync (SQLite)"

# Everything the frontend imports when Celery and messaging are off, pinned to
# versions that satisfy odcs 0.9.2's own constraints (Flask-Login==0.6.2,
# Flask-SQLAlchemy<3, SQLAlchemy<2, Werkzeug<3, apispec==5.2.2,
# apispec-webframeworks==0.5.2). Transitive dependencies are pinned too.
PINS=(
  odcs==0.9.2
  Flask==2.2.5
  Werkzeug==2.2.3
  Flask-Login==0.6.2
  Flask-SQLAlchemy==2.5.1
  SQLAlchemy==1.4.54
  greenlet==3.5.6
  kobo==0.42.0
  six==1.17.0
  python-ldap==3.4.8
  pyasn1==0.6.5
  pyasn1_modules==0.4.2
  prometheus_client==0.26.0
  apispec==5.2.2
  apispec-webframeworks==0.5.2
  marshmallow==3.26.2
  PyYAML==6.0.3
  packaging==26.3
  requests==2.34.2
  certifi==2026.10.18
  charset-normalizer==3.5.2
  idna==3.20
  urllib3==2.8.0
  Jinja2==3.1.6
  MarkupSafe==3.0.4
  itsdangerous==2.2.0
  click==8.5.1
  gunicorn==27.0.1
)

log() { printf '[odcs-anchor] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
[[ "$N" =~ ^[0-9]+$ && "$N" -ge 20 ]] || die "BENCH_COMPOSES must be an integer >= 20"
[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -ge 1 ]] || die "BENCH_SECONDS must be a positive integer"

WORK="$(mktemp -d /tmp/odcs-anchor.XXXXXX)"
GPID=""
cleanup() {
  local rc=$?
  if [[ -n "$GPID" ]] && kill -0 "$GPID" 2>/dev/null; then
    kill -TERM "$GPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$GPID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$GPID" 2>/dev/null || true
    wait "$GPID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# 1. venv
# --------------------------------------------------------------------------
venv_ok() {
  [[ -x "$VENV/bin/python" && -x "$VENV/bin/gunicorn" ]] || return 1
  "$VENV/bin/python" - "${PINS[@]}" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    if version(name) != want:
        sys.exit(1)
import flask, flask_login, flask_sqlalchemy, sqlalchemy, ldap, kobo.conf  # noqa
import prometheus_client, apispec, apispec_webframeworks, marshmallow, gunicorn  # noqa
PY
}

ensure_build_deps() {
  if [[ -f /usr/include/ldap.h && -f /usr/include/sasl/sasl.h ]] && command -v gcc >/dev/null; then
    return 0
  fi
  [[ "$(id -u)" == 0 ]] || die "python-ldap needs gcc, libldap2-dev and libsasl2-dev; install them as root"
  log "installing build deps for python-ldap (gcc libldap2-dev libsasl2-dev)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libldap2-dev libsasl2-dev >/dev/null
}

if venv_ok; then
  log "reusing venv $VENV"
else
  ensure_build_deps
  log "creating venv $VENV with $(command -v "$PYTHON") ($("$PYTHON" --version 2>&1))"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >"$WORK/pip.log" 2>&1 \
    || { tail -20 "$WORK/pip.log" >&2; die "pip upgrade failed"; }
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" >>"$WORK/pip.log" 2>&1; then
    tail -30 "$WORK/pip.log" >&2
    die "pip install failed"
  fi
  venv_ok || die "venv at $VENV does not import the frontend's dependencies"
fi
PY="$VENV/bin/python"
ODCS_PKG_DIR="$("$PY" -c 'import os, odcs; print(os.path.dirname(odcs.__file__))')"
PUNGI_CONF="$ODCS_PKG_DIR/server/conf/pungi.conf"
[[ -f "$PUNGI_CONF" ]] || die "pungi.conf template not found at $PUNGI_CONF"

# --------------------------------------------------------------------------
# 2. configuration (noauth, SQLite file, no Celery, no messaging) + seed data
# --------------------------------------------------------------------------
mkdir -p "$WORK/conf" "$WORK/target"
DB="$WORK/odcs.db"
# odcs.server.config.init_config() loads $ODCS_CONFIG_DIR/config.py and uses
# the class named by $ODCS_CONFIG_SECTION.
cat >"$WORK/conf/config.py" <<EOF
class BenchConfiguration(object):
    SECRET_KEY = "odcs-anchor-bench"
    SQLALCHEMY_DATABASE_URI = "sqlite:///$DB"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    DEBUG = False
    LOG_BACKEND = "console"
    LOG_LEVEL = "error"
    AUTH_BACKEND = "noauth"
    CELERY_BROKER_URL = ""
    MESSAGING_BACKEND = ""
    TARGET_DIR = "$WORK/target"
    TARGET_DIR_URL = "http://localhost/odcs"
    PUNGI_CONF_PATH = "$PUNGI_CONF"
EOF
export ODCS_CONFIG_DIR="$WORK/conf"
export ODCS_CONFIG_SECTION="BenchConfiguration"
unset ODCS_DEVELOPER_ENV ODCS_CELERY_BROKER_URL OTEL_EXPORTER_OTLP_ENDPOINT || true

log "creating schema and seeding $N composes into $DB"
(cd "$WORK" && "$PY" - "$N" <<'PY')
import sys, time
from datetime import datetime, timedelta
from odcs.server import db
from odcs.server.models import Compose

n = int(sys.argv[1])
db.create_all()
now = datetime.utcnow().replace(microsecond=0)
rows = []
for i in range(1, n + 1):
    submitted = now - timedelta(minutes=n - i)
    rows.append(dict(
        id=i,
        owner="user%d" % (i % 17),
        source_type=1,                      # PungiSourceType.KOJI_TAG
        source="f%d-build" % (30 + i % 11),
        state=2,                            # done
        state_reason="Compose is generated successfully",
        results=1,                          # repository
        packages="bash coreutils glibc",
        flags=0,
        sigkeys="SIG1 SIG2",
        koji_event=30000000 + i,
        arches="x86_64",
        multilib_arches="",
        multilib_method=0,
        lookaside_repos="",
        compose_type="test",
        time_submitted=submitted,
        time_started=submitted + timedelta(seconds=5),
        time_done=submitted + timedelta(seconds=95),
        time_to_expire=submitted + timedelta(days=1),
    ))
t = time.time()
with db.engine.begin() as conn:
    conn.execute(Compose.__table__.insert(), rows)
    count = conn.execute(db.text("SELECT count(*) FROM composes")).scalar()
assert count == n, count
print("[odcs-anchor] seeded %d composes in %.2fs" % (count, time.time() - t), file=sys.stderr)
PY

# --------------------------------------------------------------------------
# 3. gunicorn, 2 sync workers
# --------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
log "starting gunicorn (2 sync workers) on $BASE"
"$VENV/bin/gunicorn" --chdir "$WORK" --workers 2 --worker-class sync \
  --bind "127.0.0.1:$PORT" --log-level warning --error-logfile "$WORK/gunicorn.log" \
  odcs.server:app &
GPID=$!

ready=""
for _ in $(seq 1 150); do
  kill -0 "$GPID" 2>/dev/null || { cat "$WORK/gunicorn.log" >&2 || true; die "gunicorn exited"; }
  code="$(curl -s -o "$WORK/c1.json" -w '%{http_code}' "$BASE/api/1/composes/1" || true)"
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 0.2
done
[[ -n "$ready" ]] || { cat "$WORK/gunicorn.log" >&2 || true; die "GET /api/1/composes/1 never answered 200"; }
curl -s -o "$WORK/list.json" "$BASE/api/1/composes/?per_page=20"
"$PY" - "$WORK/c1.json" "$WORK/list.json" "$N" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["id"] == 1 and c["state_name"] == "done" and c["source_type"] == 1, c
assert c["arches"] == "x86_64" and c["results"] == ["repository"], c
lst = json.load(open(sys.argv[2]))
assert len(lst["items"]) == 20 and lst["meta"]["total"] == int(sys.argv[3]), lst["meta"]
print("[odcs-anchor] ready: compose 1 = owner %s source %s state %s; list total %d"
      % (c["owner"], c["source"], c["state_name"], lst["meta"]["total"]), file=sys.stderr)
PY

# --------------------------------------------------------------------------
# 4. wrk
# --------------------------------------------------------------------------
# Shared done() hook: one machine-readable line with the aggregated stats.
DONE_LUA='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ANCHOR %d %d %d %d %d %d %d %.1f %.1f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
'
cat >"$WORK/by_id.lua" <<EOF
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
init = function(args)
  n = tonumber(args[1])
  math.randomseed(os.time() * 1000 + (tid or 0))
end
request = function()
  return wrk.format("GET", "/api/1/composes/" .. math.random(1, n))
end
$DONE_LUA
EOF
printf '%s\n' "$DONE_LUA" >"$WORK/list.lua"

if [[ "$WARMUP" -gt 0 ]]; then
  log "warm-up ${WARMUP}s"
  wrk -t2 -c4 -d"${WARMUP}s" -s "$WORK/by_id.lua" "$BASE" -- "$N" >/dev/null
fi

ROWS=()
NOTES=()
run_wrk() { # endpoint-label connections url script [args...]
  local label="$1" conns="$2" url="$3" script="$4"; shift 4
  local out="$WORK/wrk.out"
  log "wrk -t2 -c$conns -d${SECS}s $label"
  wrk -t2 -c"$conns" -d"${SECS}s" --latency -s "$script" "$url" -- "$@" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed"; }
  sed 's/^/    /' "$out" | grep -v '^    ANCHOR ' >&2
  local line; line="$(grep '^ANCHOR ' "$out" | tail -1)"
  [[ -n "$line" ]] || die "no stats from wrk"
  # shellcheck disable=SC2086
  set -- $line
  local reqs=$2 dur=$3 econn=$4 eread=$5 ewrite=$6 estatus=$7 etimeout=$8 p50=$9 p99=${10}
  local rps; rps="$(awk -v r="$reqs" -v d="$dur" 'BEGIN{printf "%d", (d>0 ? r/(d/1e6) : 0) + 0.5}')"
  local p50ms p99ms
  p50ms="$(awk -v v="$p50" 'BEGIN{printf "%.1fms", v/1000}')"
  p99ms="$(awk -v v="$p99" 'BEGIN{printf "%.1fms", v/1000}')"
  ROWS+=("| $BACKEND_LABEL | \`$label\` | $conns | $rps | $p50ms | $p99ms |")
  if (( estatus + econn + eread + ewrite + etimeout > 0 )); then
    NOTES+=("- \`$label\` c=$conns: $reqs requests, non-2xx/3xx $estatus, socket errors connect $econn read $eread write $ewrite timeout $etimeout")
  else
    NOTES+=("- \`$label\` c=$conns: $reqs requests, no non-2xx responses, no socket errors")
  fi
}

for c in 16 64; do
  run_wrk 'GET /api/1/composes/{id}' "$c" "$BASE" "$WORK/by_id.lua" "$N"
done
for c in 16 64; do
  run_wrk 'GET /api/1/composes/?per_page=20' "$c" "$BASE/api/1/composes/?per_page=20" "$WORK/list.lua"
done

if grep -qiE 'Traceback|\[ERROR\]|Internal server error' "$WORK/gunicorn.log"; then
  NOTES+=("- gunicorn error log had errors:")
  while IFS= read -r l; do NOTES+=("    $l"); done < <(grep -iE 'Traceback|\[ERROR\]|error' "$WORK/gunicorn.log" | sort | uniq -c | head -10)
fi

# --------------------------------------------------------------------------
# 5. report
# --------------------------------------------------------------------------
echo
echo "ODCS 0.9.2 anchor: $N composes, wrk -t2, ${SECS}s per run, $(nproc) CPUs, $("$PY" --version 2>&1)"
echo
echo "| backend | endpoint | connections | requests/s | p50 | p99 |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
