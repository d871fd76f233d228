#!/usr/bin/env bash
# Screenshots of the web UI's main pages into docs/screenshots/ (issue 17): a fresh composed
# (SQLite, a temporary directory) with a repo compose of a few rpmbuild-made RPMs and a failed
# tag compose, then Debian's Chromium headless on each page.
# Needs: rpmbuild (rpm), chromium; builds composed with cargo. Run from anywhere:
#   tools/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/docs/screenshots"
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cargo build -q
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/rpms"
for n in hello world tools; do
  printf '%s\n' "Name: demo-$n" 'Version: 1.0' 'Release: 1' "Summary: demo $n" 'License: MIT' \
    'BuildArch: noarch' '%description' 'A package for the screenshots.' '%files' > "$work/$n.spec"
  rpmbuild -bb --define "_rpmdir $work/rpms" --define "_topdir $work/rpmbuild" "$work/$n.spec" >/dev/null 2>&1
done
cd "$work"
COMPOSED__COMPOSES__REPO_DIRS="[\"$work/rpms\"]" COMPOSED__SERVER__BIND="127.0.0.1:$port" \
  COMPOSED__COMPOSES__TARGET_DIR_URL="http://127.0.0.1:$port/composes" \
  "$root/target/debug/composed" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/1/about/" >/dev/null && break; sleep 0.1; done
api="http://127.0.0.1:$port/api/1/composes/"
curl -sf -X POST "$api" -d "{\"source\": {\"type\": \"repo\", \"source\": \"$work/rpms\"}, \"label\": \"Demo-1.0\"}" >/dev/null
curl -sf -X POST "$api" -d "{\"source\": {\"type\": \"repo\", \"source\": \"$work/rpms\"}, \"flags\": [\"no_reuse\"]}" >/dev/null
curl -sf -X POST "$api" -d "{\"source\": {\"type\": \"repo\", \"source\": \"$work/rpms\", \"packages\": [\"demo-missing\"]}}" >/dev/null
sleep 3
shot() {
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 \
    --screenshot="$out/$1.png" "http://127.0.0.1:$port$2" >/dev/null 2>&1
  echo "docs/screenshots/$1.png  ($2)"
}
shot composes /
shot compose /compose/1
shot failed /compose/3
shot new /new
shot diff /compose/1/diff/2
shot dashboard /dashboard
