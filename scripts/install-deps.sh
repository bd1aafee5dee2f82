#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (run as root).
# Idempotent: every step checks first and only installs what is missing.
#   - PostgreSQL server binaries (initdb/pg_ctl; the tests start their own cluster in a temp dir)
#   - libcoap3-bin (coap-client-notls/-openssl/-gnutls, coap-server-*) for interop tests
#   - nats-server >= 2.10 (bookworm ships 2.9.10, which silently breaks the Orleans NATS
#     stream provider: it lacks JetStream subject transforms). We take trixie's package with a
#     private apt state directory, so the system's apt configuration is untouched, and unpack
#     it into .tools/.
#   - npm interop clients (coap, node-coap-client), playwright-core (drives Debian's chromium for the fleet page's
#     browser test) and kubernetes-models (offline validation of deploy/kubernetes) into .tools/node
#   - chromium (Debian's; headless, for the fleet page's browser test)
#   - aiocoap-client (python3-aiocoap 0.4.14 from trixie, pure Python, unpacked into .tools/ and run by bookworm's
#     python3; python3-cbor2 from bookworm for CBOR; python3-websockets from trixie for coap+ws) for the device
#     guide's aiocoap examples
#   - a DTLS client with RFC 9146 Connection IDs (no bookworm package has one: OpenSSL and GnuTLS lack CID):
#     Mbed TLS 3.6 (trixie) and libcoap 4.3.5 (sid) built from their Debian source packages' upstream
#     tarballs into .tools/ (coap-client, coap-server in .tools/bin); cached: skipped once the binary exists.
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
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
/usr/bin/python3 -c 'import cbor2' >/dev/null 2>&1 || need_apt+=(python3-cbor2)

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

# Downloads one binary package from Debian trixie with a private apt state in .tools/apt-trixie (the system's apt
# configuration and status are untouched) and prints the .deb's path.
trixie_updated=0
trixie_download() {
  local st="$tools/apt-trixie"
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc/sources.list.d" "$st/etc/preferences.d"
  cat > "$st/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main
SRC
  local aptopts=(-o Dir::State="$st" -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache"
                 -o Dir::Etc::SourceList="$st/etc/sources.list" -o Dir::Etc::SourceParts="$st/etc/sources.list.d"
                 -o Dir::Etc::Preferences="$st/etc/preferences" -o Dir::Etc::PreferencesParts="$st/etc/preferences.d"
                 -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
  if [ $trixie_updated = 0 ]; then apt-get "${aptopts[@]}" update -qq >&2; trixie_updated=1; fi
  (cd "$st/cache/archives" && apt-get -o APT::Sandbox::User=root "${aptopts[@]}" download "$1" >&2)
  ls "$st"/cache/archives/"$1"_*.deb | sort -V | tail -1
}

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
    deb="$(trixie_download nats-server)"
    rm -rf "$tools/nats-pkg"; dpkg-deb -x "$deb" "$tools/nats-pkg"
    ln -sf "$(find "$tools/nats-pkg" -type f -name nats-server -perm -u+x | head -1)" "$tools/bin/nats-server"
  fi
fi
nats_ok "$tools/bin/nats-server" || { echo "nats-server >= 2.10 is required (found: $("$tools/bin/nats-server" --version 2>&1 || echo none))" >&2; exit 1; }
log "nats-server: $("$tools/bin/nats-server" --version)"

# npm packages, pinned (the versions the tests were written against): the interop clients, playwright-core (drives
# Debian's chromium; it downloads no browser of its own), kubernetes-models and yaml (validate deploy/kubernetes offline).
npm_packages=(coap@1.5.0 node-coap-client@2.1.0 playwright-core@1.65.1 kubernetes-models@5.1.0 yaml@2.9.1)
npm_missing=()
for p in "${npm_packages[@]}"; do
  [ "$(node -p "try { require('$tools/node/node_modules/${p%@*}/package.json').version } catch { '' }" 2>/dev/null)" = "${p##*@}" ] || npm_missing+=("$p")
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  log "installing npm packages: ${npm_missing[*]}"
  mkdir -p "$tools/node"
  (cd "$tools/node" && { [ -f package.json ] || echo '{"name":"nhub-interop-clients","private":true}' > package.json; } \
     && npm install --silent --no-audit --no-fund "${npm_packages[@]}" >/dev/null)
fi

# aiocoap-client for the device guide's examples: trixie's python3-aiocoap (pure Python, no compiled parts) unpacked
# into .tools/aiocoap-pkg and started by a wrapper with bookworm's /usr/bin/python3, which has python3-cbor2.
aiocoap_version=0.4.14
if [ ! -x "$tools/bin/aiocoap-client" ] || ! "$tools/bin/aiocoap-client" --version 2>/dev/null | grep -qF "$aiocoap_version"; then
  log "fetching python3-aiocoap $aiocoap_version from Debian trixie (private apt state; system apt untouched)"
  deb="$(trixie_download python3-aiocoap)"
  rm -rf "$tools/aiocoap-pkg"; dpkg-deb -x "$deb" "$tools/aiocoap-pkg"
  cat > "$tools/bin/aiocoap-client" <<'WRAP'
#!/bin/sh
# aiocoap-client from .tools/aiocoap-pkg (scripts/install-deps.sh), on the system's Python.
pkg="$(cd "$(dirname "$0")/../aiocoap-pkg" && pwd)"
PYTHONPATH="$pkg/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}" exec /usr/bin/python3 "$pkg/usr/bin/aiocoap-client" "$@"
WRAP
  chmod 0755 "$tools/bin/aiocoap-client"
fi
"$tools/bin/aiocoap-client" --version 2>/dev/null | grep -qF "$aiocoap_version" || { echo "aiocoap-client $aiocoap_version does not run" >&2; exit 1; }
# Its coap+ws transport needs websockets >= 13 (the websockets.asyncio API; bookworm has 10.4): trixie's, unpacked
# beside it. Pure Python once its optional C speed-up (built for trixie's Python) fails to load, which it allows.
aiocoap_py="$tools/aiocoap-pkg/usr/lib/python3/dist-packages"
if ! PYTHONPATH="$aiocoap_py" /usr/bin/python3 -c 'import websockets.asyncio.connection' >/dev/null 2>&1; then
  log "fetching python3-websockets from Debian trixie (aiocoap's coap+ws transport)"
  dpkg-deb -x "$(trixie_download python3-websockets)" "$tools/aiocoap-pkg"
  PYTHONPATH="$aiocoap_py" /usr/bin/python3 -c 'import websockets.asyncio.connection' || { echo "websockets from trixie does not import" >&2; exit 1; }
fi
log "aiocoap-client: $("$tools/bin/aiocoap-client" --version 2>&1 | head -1)"
log "chromium: $(chromium --version 2>/dev/null | head -1)"
# libcoap 4.3.5 on Mbed TLS 3.6: the CID-capable client (and server) for the Connection ID interop tests.
# Only the upstream .orig tarballs are used (sid's .dsc may be missing from a mirror); only the needed
# targets are built, so a cold build stays at a few minutes on 2 cores.
if [ ! -x "$tools/bin/coap-client" ] || [ ! -x "$tools/bin/coap-server" ]; then
  command -v cmake >/dev/null 2>&1 && command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 || {
    log "installing build tools (cmake, make, gcc, bzip2)"; apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake make gcc libc6-dev bzip2 >/dev/null; }
  log "building Mbed TLS 3.6 (trixie) and libcoap 4.3.5 (sid) from Debian sources into .tools/ (private apt state)"
  st="$tools/apt-src"
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc/sources.list.d" "$st/etc/preferences.d" "$st/src"
  cat > "$st/etc/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) sid main
SRC
  srcopts=(-o Dir::State="$st" -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache"
           -o Dir::Etc::SourceList="$st/etc/sources.list" -o Dir::Etc::SourceParts="$st/etc/sources.list.d"
           -o Dir::Etc::Preferences="$st/etc/preferences" -o Dir::Etc::PreferencesParts="$st/etc/preferences.d"
           -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  fetch_orig() { # $1 package/suite, $2 tarball glob: a missing .dsc or Debian tarball is not an error, a missing .orig is
    (cd "$st/src" && apt-get "${srcopts[@]}" source --download-only "$1" >/dev/null 2>&1) || true
    local f; f="$(ls "$st/src"/$2 2>/dev/null | head -1)"
    [ -n "$f" ] || { echo "could not fetch the upstream tarball of $1 ($2)" >&2; exit 1; }
    printf '%s' "$f"
  }
  apt-get "${srcopts[@]}" update -qq
  mbed_tar="$(fetch_orig mbedtls/trixie 'mbedtls_3.6.*.orig.tar.*')"
  coap_tar="$(fetch_orig libcoap3/sid 'libcoap3_4.3.5*.orig.tar.*')"
  # Outside any git work tree: libcoap's build stamps the enclosing repository's `git describe` into its banner.
  build="$(mktemp -d)"; mkdir -p "$build/mbedtls" "$build/libcoap"
  tar -xf "$mbed_tar" -C "$build/mbedtls" --strip-components=1
  tar -xf "$coap_tar" -C "$build/libcoap" --strip-components=1
  # Mbed TLS: the three static libraries only (no tests, no programs). MBEDTLS_SSL_DTLS_CONNECTION_ID is on by
  # default in 3.6, with the RFC 9146 record format.
  make -C "$build/mbedtls" -j2 lib >/dev/null
  mlib="$build/mbedtls/library"
  cmake -S "$build/libcoap" -B "$build/libcoap/out" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DENABLE_DTLS=ON -DDTLS_BACKEND=mbedtls -DENABLE_DOCS=OFF -DENABLE_EXAMPLES=ON -DENABLE_TESTS=OFF \
    -DMBEDTLS_INCLUDE_DIRS="$build/mbedtls/include" -DMBEDTLS_LIBRARY="$mlib/libmbedtls.a" \
    -DMBEDX509_LIBRARY="$mlib/libmbedx509.a" -DMBEDCRYPTO_LIBRARY="$mlib/libmbedcrypto.a" >/dev/null
  make -C "$build/libcoap/out" -j2 coap-client coap-server >/dev/null
  install -m 0755 "$build/libcoap/out/coap-client" "$tools/bin/coap-client"
  install -m 0755 "$build/libcoap/out/coap-server" "$tools/bin/coap-server"
  rm -rf "$build"
fi
coap_banner="$("$tools/bin/coap-client" 2>&1 || true)" # usage text, exit status 1
[[ "$coap_banner" == *"Mbed TLS"* ]] || { echo "$tools/bin/coap-client is not libcoap on Mbed TLS" >&2; exit 1; }
log "coap-client: $(printf '%s\n' "$coap_banner" | sed -n '1p'), $(printf '%s\n' "$coap_banner" | grep 'TLS Library')"
log "ready"
