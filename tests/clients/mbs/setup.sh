#!/usr/bin/env bash
# Install the real module-build-service 3.9.2 frontend (from PyPI) into a venv.
# Usage: tests/clients/mbs/setup.sh <venv-dir>     (idempotent; see README.md)
set -euo pipefail
VENV="${1:?usage: setup.sh <venv-dir>}"

if [[ -x "$VENV/bin/mbs-manager" && -x "$VENV/bin/gunicorn" ]]; then
    exit 0
fi

log() { echo "mbs-setup: $*" >&2; }

# System packages: libmodulemd GI bindings and friends (not on PyPI in usable form).
DEB_PKGS=(gir1.2-modulemd-2.0 python3-gi python3-solv python3-gssapi python3-cairo python3-rpm python3-dnf)
missing=()
for p in "${DEB_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
cat >"$CONSTRAINTS" <<'C'
Flask>=2.2,<2.3
Werkzeug>=2.2,<2.3
Flask-SQLAlchemy==2.5.1
SQLAlchemy>=1.4,<1.5
Flask-Migrate>=3.1,<4
setuptools>=75.8.2,<81
C

log "pip install dependencies"
"${PIP[@]}" -c "$CONSTRAINTS" 'setuptools>=75.8.2,<81'
"${PIP[@]}" -c "$CONSTRAINTS" \
    'Flask>=2.2,<2.3' 'Werkzeug>=2.2,<2.3' 'Flask-SQLAlchemy==2.5.1' 'SQLAlchemy>=1.4,<1.5' \
    'Flask-Migrate>=3.1,<4' \
    click distro dogpile.cache kobo ldap3 munch packaging prometheus_client pyOpenSSL requests six celery \
    defusedxml psutil requests-gssapi fedmsg moksha.hub gunicorn
"${PIP[@]}" -c "$CONSTRAINTS" --no-deps koji==1.35.3
"${PIP[@]}" -c "$CONSTRAINTS" --no-deps module-build-service==3.9.2

# Sanity check (pungi.arch comes from the stub next to this script).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHONWARNINGS=ignore PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -c \
    'import module_build_service.common.models, koji, gunicorn' >&2
log "ok: $VENV"
