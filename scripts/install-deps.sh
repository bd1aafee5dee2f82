#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (run as root).
# Idempotent: every step checks first and only installs what is missing.
#   - PostgreSQL server binaries (initdb/pg_ctl; the tests start their own cluster in a temp dir)
#   - libcoap3-bin (coap-client-notls/-openssl/-gnutls, coap-server-*) for interop tests
#   - nats-server >= 2.10 (bookworm ships 2.9.10, which silently breaks the Orleans NATS
#     stream provider: it lacks JetStream subject transforms). We take trixie's package with a
#     private apt state directory, so the system's apt configuration is untouched, and unpack
#     it into .tools/.
#   - npm interop clients (coap, node-coap-client) into .tools/node
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools/bin"

log() { printf '[install-deps] %s\n' "$*"; }

need_apt=()
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pg_bin="$d"; done
[ -n "$pg_bin" ] || need_apt+=(postgresql)
command -v coap-client-notls >/dev/null 2>&1 || need_apt+=(libcoap3-bin)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)

# The Debian archive this machine's own apt uses (never a host written into this file): the first URIs of a
# deb822 source (or a one-line sources.list entry) that serves the main archive, not debian-security.
debian_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -nE 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' | grep -v -- '-security' | grep -v '^$' | head -1)"
  [ -n "$uri" ] || uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]].*/\2/p' | grep -v -- '-security' | head -1)"
  [ -n "$uri" ] || { echo "no Debian archive found in /etc/apt/sources.list*; cannot fetch packages from other suites" >&2; exit 1; }
  printf '%s' "${uri%/}"
}

apt_updated=0
apt_update() { if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi; }

if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian's postgresql package starts a system cluster; the tests never use it.
  if [[ " ${need_apt[*]} " == *" postgresql "* ]]; then
    (command -v systemctl >/dev/null && systemctl stop postgresql) >/dev/null 2>&1 || service postgresql stop >/dev/null 2>&1 || true
  fi
fi

nats_ok() {
  local bin="$1"
  [ -x "$bin" ] || return 1
  local v; v="$("$bin" --version 2>/dev/null | sed -E 's/.*v([0-9]+)\.([0-9]+).*/\1 \2/')"
  set -- $v
  [ "${1:-0}" -gt 2 ] || { [ "${1:-0}" -eq 2 ] && [ "${2:-0}" -ge 10 ]; }
}

if ! nats_ok "$tools/bin/nats-server"; then
  if command -v nats-server >/dev/null 2>&1 && nats_ok "$(command -v nats-server)"; then
    ln -sf "$(command -v nats-server)" "$tools/bin/nats-server"
  else
    log "fetching nats-server >= 2.10 from Debian trixie (private apt state; system apt untouched)"
    st="$tools/apt-trixie"
    mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc/sources.list.d" "$st/etc/preferences.d"
    cat > "$st/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main
SRC
    aptopts=(-o Dir::State="$st" -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache"
             -o Dir::Etc::SourceList="$st/etc/sources.list" -o Dir::Etc::SourceParts="$st/etc/sources.list.d"
             -o Dir::Etc::Preferences="$st/etc/preferences" -o Dir::Etc::PreferencesParts="$st/etc/preferences.d"
             -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
    apt-get "${aptopts[@]}" update -qq
    (cd "$st/cache/archives" && apt-get -o APT::Sandbox::User=root "${aptopts[@]}" download nats-server)
    deb="$(ls "$st"/cache/archives/nats-server_*.deb | head -1)"
    rm -rf "$tools/nats-pkg"; dpkg-deb -x "$deb" "$tools/nats-pkg"
    ln -sf "$(find "$tools/nats-pkg" -type f -name nats-server -perm -u+x | head -1)" "$tools/bin/nats-server"
  fi
fi
nats_ok "$tools/bin/nats-server" || { echo "nats-server >= 2.10 is required (found: $("$tools/bin/nats-server" --version 2>&1 || echo none))" >&2; exit 1; }
log "nats-server: $("$tools/bin/nats-server" --version)"

# npm interop clients, pinned (the versions the interop tests were written against).
if [ ! -f "$tools/node/node_modules/coap/package.json" ] || [ ! -f "$tools/node/node_modules/node-coap-client/package.json" ]; then
  log "installing npm interop clients (coap@1.5.0, node-coap-client@2.1.0)"
  mkdir -p "$tools/node"
  (cd "$tools/node" && { [ -f package.json ] || echo '{"name":"nhub-interop-clients","private":true}' > package.json; } \
     && npm install --silent --no-audit --no-fund coap@1.5.0 node-coap-client@2.1.0 >/dev/null)
fi
log "ready"
