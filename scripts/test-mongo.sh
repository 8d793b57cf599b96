#!/usr/bin/env bash
# Runs the tap tests that need a MongoDB server against a throw-away FerretDB (SQLite backend).
#
#   scripts/test-mongo.sh                       # test/store, test/rest, the CCM persist, $everything and audit trail tests
#   scripts/test-mongo.sh test/store/x.test.ts  # these files/folders instead
#   scripts/test-mongo.sh -- --grep=foo         # extra tap arguments after --
#   scripts/test-mongo.sh test/store -- --bail
#
# Builds FerretDB if needed (scripts/ferretdb build), starts it on a free port, exports
# MONGODB_URI, runs the tests (scripts/run-tests.mjs), always stops FerretDB afterwards and exits with tap's status.
# FERRETDB_REPORT=path keeps the smoke test's capability report (default: inside the temp folder).
# FERRETDB_KEEP_LOG=path copies FerretDB's log there before the temp folder is removed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FERRETDB="$ROOT/scripts/ferretdb"

paths=()
tap_args=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == "--" ]]; then
    shift
    tap_args+=("$@")
    break
  fi
  paths+=("$1")
  shift
done
if [[ ${#paths[@]} -eq 0 ]]; then
  # The store conformance and interaction suites (and the capability smoke test in test/store).
  # Tests that need a capability the server lacks (multi-document transactions on FerretDB)
  # skip themselves with the reason (test/helpers/capabilities.ts).
  for p in test/store test/rest; do
    [[ -d "$p" ]] && paths+=("$p")
  done
  # $ccm-billing persist=true without multi-document transactions (loads its data one resource per write)
  [[ -f test/operations/ccm-persist.test.ts ]] && paths+=(test/operations/ccm-persist.test.ts)
  # Patient/[id]/$everything (the compartment search with _include=*, paged)
  [[ -f test/operations/patient-everything.test.ts ]] && paths+=(test/operations/patient-everything.test.ts)
  # The audit trail through the MongoDB sink (records expanded to AuditEvents, searched by index)
  [[ -f test/audit/audit-trail.test.ts ]] && paths+=(test/audit/audit-trail.test.ts)
fi

"$FERRETDB" build

FERRETDB_DIR=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$FERRETDB_DIR" ]]; then
    if [[ -n "${FERRETDB_KEEP_LOG:-}" ]]; then
      cp "$FERRETDB_DIR/ferretdb.log" "$FERRETDB_KEEP_LOG" 2>/dev/null || true
    fi
    FERRETDB_DIR="$FERRETDB_DIR" "$FERRETDB" stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started="$("$FERRETDB" start)"
# parse the KEY=value lines printed by `scripts/ferretdb start` (no eval)
while IFS='=' read -r key value; do
  case "$key" in
    MONGODB_URI) MONGODB_URI="$value" ;;
    FERRETDB_DIR) FERRETDB_DIR="$value" ;;
  esac
done <<<"$started"
[[ -n "${MONGODB_URI:-}" && -n "$FERRETDB_DIR" ]] || {
  echo "test-mongo: could not read MONGODB_URI/FERRETDB_DIR from 'scripts/ferretdb start' output: $started" >&2
  exit 1
}
export MONGODB_URI
# test/store/ferretdb-smoke.test.ts writes its capability report here (tap reporters other than
# `base` hide the test's stderr); it is printed after the run.
export FERRETDB_REPORT="${FERRETDB_REPORT:-$FERRETDB_DIR/capabilities.txt}"

echo "test-mongo: MONGODB_URI=$MONGODB_URI; tests: ${paths[*]} ${tap_args[*]:-}" >&2
rc=0
SKIP_TYPECHECK=1 node scripts/run-tests.mjs "${paths[@]}" ${tap_args[@]+"${tap_args[@]}"} || rc=$?
if [[ -s "$FERRETDB_REPORT" ]]; then
  echo "test-mongo: $(cat "$FERRETDB_REPORT")" >&2
fi
echo "test-mongo: tap exited with status $rc" >&2
exit "$rc"
