#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (Debian packages,
# a Python venv with the real clients), starts PostgreSQL if it is down, then runs every test
# on SQLite and on PostgreSQL with cargo nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '\n== %s\n' "$*"; }

need_pkgs=()
for p in libpq-dev libkrb5-dev libssl-dev pkg-config python3-venv wrk rpm createrepo-c dnf dnf-plugins-core python3-solv python3-aiosmtpd chromium chromium-driver rabbitmq-server xorriso isomd5sum genisoimage e2fsprogs qemu-utils skopeo gir1.2-modulemd-2.0 python3-gi; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # One retry: a first apt-get install has been seen to fail on a vanished temporary file.
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null \
    || apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

# RabbitMQ on 127.0.0.1:5672 (guest/guest on loopback) for the fedora-messaging tests.
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  log "starting RabbitMQ"
  rabbitmq-server -detached || true
  timeout 120 rabbitmqctl await_startup >/dev/null || true
fi
(exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }

# The real clients, in a venv (PyPI).
venv="${COMPOSED_TEST_VENV:-$root/.venv}"
clients=('odcs[client]==0.9.2' 'koji==1.36.1' 'productmd' 'pyzmq'
         'fedmsg[commands]==1.1.7' 'fedora-messaging==3.9.1' 'koji-fedoramessaging-messages==1.3.0'
         'schemathesis==4.32.5' 'spdx-tools==0.8.5')
if ! "$venv/bin/python" -c 'import odcs.client.odcs, koji, productmd, zmq, fedmsg, fedora_messaging, koji_fedoramessaging_messages, schemathesis, spdx_tools' 2>/dev/null \
   || [ ! -x "$venv/bin/koji" ] || [ ! -x "$venv/bin/fedmsg-logger" ] || [ ! -x "$venv/bin/fedora-messaging" ] \
   || [ ! -x "$venv/bin/schemathesis" ]; then
  log "installing the real clients in $venv: ${clients[*]}"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${clients[@]}"
fi
"$venv/bin/python" -c 'import odcs.client.odcs, koji, productmd, zmq, fedmsg, fedora_messaging, koji_fedoramessaging_messages, schemathesis, spdx_tools' \
  || { echo "the real clients do not import from $venv" >&2; exit 1; }

# The OpenID Provider of the web UI's login test (npm oidc-provider, pinned in its lock file).
if [ ! -d tests/clients/oidc/node_modules/oidc-provider ]; then
  command -v npm >/dev/null || { echo "npm is missing (Node.js): the login test needs oidc-provider" >&2; exit 1; }
  log "npm ci in tests/clients/oidc (oidc-provider)"
  npm ci --prefix tests/clients/oidc --no-audit --no-fund --loglevel=error
fi

# The real Module Build Service 3.9.2 frontend (PyPI) with the module fixtures, one for the
# whole run (tests/clients/mbs/README.md); the module tests use it through its URL.
mbs_venv="${COMPOSED_TEST_MBS_VENV:-$root/.venv-mbs}"
tests/clients/mbs/setup.sh "$mbs_venv"
if [ -z "${COMPOSED_TEST_MBS_URL:-}" ]; then
  mbs_dir=$(mktemp -d)
  mbs_port=$("$mbs_venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  fx=tests/fixtures/modules
  "$mbs_venv/bin/python" tests/clients/mbs/serve.py --dir "$mbs_dir" --port "$mbs_port" \
    --done olddone:1:20240404000000:0badc0de \
    $fx/platform-f40-1-00000000.yaml $fx/hello-1-20240101000000-c0ffee41.yaml \
    $fx/hello-2-20240101000000-c0ffee42.yaml $fx/hello-2-20240202000000-c0ffee42.yaml \
    $fx/greet-1-20240303000000-deadbee1.yaml $fx/greet-1-20240303000000-deadbee2.yaml \
    $fx/olddone-1-20240404000000-0badc0de.yaml >"$mbs_dir/ready" 2>"$mbs_dir/serve.log" &
  mbs_pid=$!
  trap 'kill $mbs_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do grep -q '^READY ' "$mbs_dir/ready" 2>/dev/null && break; sleep 0.5; done
  grep -q '^READY ' "$mbs_dir/ready" || { cat "$mbs_dir/serve.log" >&2; echo "MBS did not start" >&2; exit 1; }
  export COMPOSED_TEST_MBS_URL=$(sed -n 's/^READY //p' "$mbs_dir/ready")
  log "MBS at $COMPOSED_TEST_MBS_URL"
fi
export COMPOSED_TEST_MBS_VENV="$mbs_venv"

export COMPOSED_TEST_VENV="$venv"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
log "cargo nextest run (SQLite and PostgreSQL)"
cargo nextest run --no-fail-fast "$@"
