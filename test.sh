#!/usr/bin/env bash
# Runs the NHub.Orleans test suite. Works on a fresh Debian bookworm machine as root: installs what is
# missing (scripts/install-deps.sh), builds the solution once, then runs the test groups.
#
#   ./test.sh               all groups
#   ./test.sh unit          no servers, no sockets to external processes
#   ./test.sh integration   real PostgreSQL and nats-server (JetStream), real silo processes
#   ./test.sh interop       real CoAP clients (libcoap coap-client-*, npm coap / node-coap-client)
#
# Every server a test needs is started by the test itself on loopback, on free ports, in temp dirs.
set -euo pipefail
cd "$(dirname "$0")"
group="${1:-all}"
case "$group" in all|unit|integration|interop) ;; *) echo "usage: $0 [all|unit|integration|interop]" >&2; exit 2;; esac

bash scripts/install-deps.sh
export PATH="$PWD/.tools/bin:$PATH"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet build NHub.Orleans.sln -c Release -nologo -v q -clp:ErrorsOnly

projects=()
# The test projects are the solution's projects under tests/ (NHub.Testing is the shared fixture library).
while IFS= read -r p; do
  name="$(basename "$p" .csproj)"
  case "$name" in
    NHub.Testing) continue ;;
    *.Integration.Tests) g=integration ;;
    *.Interop.Tests) g=interop ;;
    *) g=unit ;;
  esac
  if [ "$group" = all ] || [ "$group" = "$g" ]; then projects+=("$p"); fi
done < <(dotnet sln NHub.Orleans.sln list | tr '\\' '/' | grep -E '^tests/.*\.csproj$' | sort)

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
for p in "${projects[@]}"; do
  echo "== $(basename "$p" .csproj)"
  if ! dotnet test "$p" -c Release --no-build -nologo --logger "trx;LogFileName=$(basename "$p" .csproj).trx" --results-directory "$results" --blame-hang-timeout 5m; then
    status=1
  fi
done

# One closing line for CI: sum the counters of every TRX report.
python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(f).getroot().find(".//{*}Counters")
    if c is None: continue
    passed += int(c.get("passed", 0)); failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
