#!/usr/bin/env bash
# The fuzz tests, ten times longer and with a fresh seed each run (`npm run soak`):
#   - test/fuzz.test.ts: about 1.5 million hostile packets at the built server over UDP and TCP;
#   - src/**/*.fuzz.test.ts: the decoder, the zone-file parser, the etcd value parser and index.
# A failure prints its seed: `FUZZ_SEED=<seed> npm run soak` replays it. Extra arguments go to
# vitest (e.g. `npm run soak -- src/wire` for one target).
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build

export SOAK=1
export FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}"
echo "soak: FUZZ_SEED=${FUZZ_SEED} (set it to replay this run)"
# "fuzz.test" matches test/fuzz.test.ts and every *.fuzz.test.ts.
exec npx vitest run --testTimeout=1800000 fuzz.test "$@"
