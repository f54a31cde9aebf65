#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system tools, npm packages, build, type check,
# lint and knip, unit and integration tests. `npm test` runs this; .ci/run runs `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh

# Install exactly the locked dependencies when node_modules is missing or older than the lock.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The native UDP addon is optional for users (dgram is the fallback) but not here: the tests
# of the batched engine must run, not be skipped because a build quietly fell back.
export ETCDNS_REQUIRE_NATIVE=1
npm run --silent build
npm run --silent typecheck
# Import boundaries (the data-flow direction, eslint.config.js) and dead code (unused files,
# exports, dependencies and import cycles, knip.json): either fails the run before the tests.
npm run --silent lint
npm run --silent knip

results=.vitest-results.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?

# One closing line in the plain "N passed, N failed" form that CI reads.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.error("no tests ran"); process.exit(1); }
' "$results" || status=1
exit "$status"
