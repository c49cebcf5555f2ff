#!/usr/bin/env bash
# The whole test suite: lint (ESLint, the layer check), typecheck, unit specs, integration specs (with a real Docker Engine from
# scripts/with-dockerd.sh). Every stage runs even if an earlier one failed, and the last line is the tally
# "N passed, N failed[, N skipped]" over all of them (lint and typecheck count as one check each).
set -uo pipefail
cd "$(dirname "$0")/.."
tally=$(mktemp)
export TEST_TALLY_FILE="$tally"
status=0

check() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then
    echo "{\"suite\":\"$name\",\"passed\":1,\"failed\":0,\"pending\":0}" >>"$tally"
  else
    echo "{\"suite\":\"$name\",\"passed\":0,\"failed\":1,\"pending\":0}" >>"$tally"
    status=1
  fi
}

stage() { # name, command... (mocha stages write their own tally lines)
  local name=$1; shift
  echo "=== $name"
  local before; before=$(wc -l <"$tally")
  TEST_STAGE=$name "$@" || status=1
  if [ "$(wc -l <"$tally")" -eq "$before" ]; then
    # The runner died before reporting: count the stage as one failure, never as nothing.
    echo "{\"suite\":\"$name\",\"passed\":0,\"failed\":1,\"pending\":0}" >>"$tally"
    status=1
  fi
}

check lint npm run -s lint
check typecheck npx tsc -p tsconfig.json --noEmit
stage unit npx mocha 'spec/unit/**/*.spec.ts'
stage integration bash scripts/with-dockerd.sh npx mocha 'spec/integration/**/*.spec.ts'

node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
  const sum = (k) => lines.reduce((n, l) => n + l[k], 0);
  for (const l of lines) console.log(`  ${l.suite}: ${l.passed} passed, ${l.failed} failed, ${l.pending} skipped`);
  console.log(`${sum("passed")} passed, ${sum("failed")} failed, ${sum("pending")} skipped`);
' "$tally"
rm -f "$tally"
exit $status
