#!/usr/bin/env bash
# API fuzzing: schemathesis (pinned in scripts/setup.d/api-fuzz.pip) generates requests from the
# OpenAPI document at /api/openapi.json and sends them to a real `probity demo`, signed in as demo
# users. It fails on any 5xx and on any answer the document does not describe (status code, content
# type, body schema). Bounded: a fixed number of examples per operation, a fixed seed (the same
# requests every run) and a wall-clock limit.
#
# Uses target/debug/probity as built by the tests before it; builds nothing. Reports (JUnit) and
# the server's log stay in target/api-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=target/debug/probity
st=.venv/bin/schemathesis
[ -x "$binary" ] || { echo "$binary is missing: scripts/test builds it (cargo build --workspace --bins)" >&2; exit 1; }
[ -x "$st" ] || { echo "schemathesis is not installed in .venv: run scripts/setup" >&2; exit 1; }

# Examples per operation, seed and wall-clock limit; override to fuzz longer by hand.
examples="${PROBITY_FUZZ_EXAMPLES:-25}"
seed="${PROBITY_FUZZ_SEED:-20261504}"
limit="${PROBITY_FUZZ_SECONDS:-240}"
# Who the fuzzer is: the administrator reaches the administration routes, the investigator the
# casework of PCT-019 (cases, evidence, facial recognition requests), the lieutenant supervises
# PCT-019 (cameras, inspections, thermal deployments). The administrator goes last: its fuzzing
# may deactivate any account it finds (SEC-02), and a deactivated user could not sign in to fuzz.
users="${PROBITY_FUZZ_USERS:-det.rivera lt.moreau admin}"

out=target/api-fuzz
rm -rf "$out"
mkdir -p "$out"
dir=$(mktemp -d "${TMPDIR:-/tmp}/probity-fuzz-XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
url="http://127.0.0.1:$port"
server=""
cleanup() {
  local rc=$?
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT

# Plain HTTP on the loopback address: the fuzzer's requests are local, so no second factor is asked.
PROBITY_LOG=warn "$binary" demo --data-dir "$dir/data" --listen "127.0.0.1:$port" --no-tls \
  >"$out/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "probity demo exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$url/health" >/dev/null || { echo "probity demo did not answer" >&2; cat "$out/server.log" >&2; exit 1; }
password=$(sed -n 's/.*Password for every demo login: *//p' "$out/server.log" | head -n 1)
[ -n "$password" ] || { echo "probity demo printed no demo password" >&2; cat "$out/server.log" >&2; exit 1; }

# Signs in as $1 and prints the session cookie as name=value.
session_cookie() {
  curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
    --data "{\"username\":\"$1\",\"password\":\"$password\"}" "$url/api/session" \
    | sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | head -n 1
}

failed=0
start=$(date +%s)
for user in $users; do
  cookie=$(session_cookie "$user")
  [ -n "$cookie" ] || { echo "could not sign in as $user" >&2; exit 1; }
  # Half of the generated {case} values are cases this user may see, so the fuzzer gets past the
  # 404 of an unknown case into the case's evidence, facial recognition and thermal operations.
  cases=$(curl -fsS -H "Cookie: $cookie" "$url/api/cases" 2>/dev/null \
    | python3 -c 'import json, sys; print(json.dumps([c["case_number"] for c in json.load(sys.stdin)]))' \
    2>/dev/null || echo '[]')
  config="$dir/$user.toml"
  # No failure cache between runs: every run sends the same requests, whatever ran before.
  printf '[cache]\nenabled = false\n' >"$config"
  if [ "$cases" != "[]" ]; then
    printf '\n[dictionaries.cases]\nvalues = %s\n\n[parameters]\n"path.case" = { dictionary = "cases", probability = 0.5 }\n' \
      "$cases" >>"$config"
  fi
  remaining=$((limit - ($(date +%s) - start)))
  [ "$remaining" -gt 10 ] || { echo "no time left to fuzz as $user (limit ${limit}s)" >&2; failed=1; break; }
  echo "--- schemathesis as $user (cases: $cases; at most ${remaining}s)"
  # Excluded: DELETE /api/session signs the fuzzer itself out, so every later request would only
  # test the 401 answer. Nothing else is excluded.
  fuzz() {
    timeout --signal=INT --kill-after=10 "$1" \
        "$st" --config-file "$config" run "$url/api/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$examples" \
        --seed "$seed" \
        --generation-database none \
        --generation-with-security-parameters false \
        --workers 2 \
        --request-timeout 20 \
        --header "Cookie: $cookie" \
        --exclude-operation-id delete_session \
        --report junit --report-junit-path "$out/$user.junit.xml" \
        --no-color
  }
  rc=0
  fuzz "$remaining" || rc=$?
  # The fuzzer's own crash (a Python error inside schemathesis, reported as an error with no check
  # failed) says nothing about the server: that run is repeated once. A check that failed is never
  # retried.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && python3 - "$out/$user.junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
failures = len(root.findall(".//failure"))
errors = len(root.findall(".//error"))
sys.exit(0 if errors > 0 and failures == 0 else 1)
PY
  then
    echo "schemathesis as $user stopped on an error of its own, with no check failed: running it once more"
    remaining=$((limit - ($(date +%s) - start)))
    rc=0
    if [ "$remaining" -gt 10 ]; then fuzz "$remaining" || rc=$?; else rc=124; fi
  fi
  if [ "$rc" -eq 124 ]; then
    echo "schemathesis as $user did not finish within the limit of ${limit}s" >&2
  fi
  [ "$rc" -eq 0 ] || failed=1
  echo "--- as $user: $(( $(date +%s) - start ))s since the start"
done
if grep -qiE 'panicked|request failed' "$out/server.log"; then
  echo "the server logged failures:" >&2
  grep -iE 'panicked|request failed' "$out/server.log" | tail -n 50 >&2
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  echo "API fuzzing found failures (reports and server log in $out/)" >&2
  exit 1
fi
echo "API fuzzing passed"
