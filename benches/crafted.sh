#!/usr/bin/env bash
# The crafted images of docs/limits.md at full scale (`gen-testdata crafted`): each analysed
# by dive-rs --json, its wall time and peak RSS (the kernel's count for that one child) next
# to the memory budget, and with BASELINE=PATH an older dive-rs on the same image, interleaved,
# for the before/after figures of a change. Images are written one at a time and deleted.
#
#   benches/crafted.sh [SCALE] [NAME…]   SCALE 1 (default) is the table's size; CI runs 0.1
#   BASELINE=/path/to/old/dive-rs BASELINE_TIMEOUT=300 benches/crafted.sh
#   DIR=/tmp/crafted benches/crafted.sh    where the images go (default: a temporary dir)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
shift || true
cargo build --release --locked --quiet -p dive-tui -p dive-testdata
BIN=$PWD/target/release
DIR=${DIR:-$(mktemp -d)}
mkdir -p "$DIR"
TIMEOUT=${BASELINE_TIMEOUT:-300}
names=("$@")
[ "${#names[@]}" -gt 0 ] || mapfile -t names < <("$BIN/gen-testdata" crafted list | awk '{print $1}')

measure() { # seconds, peak MiB and exit status of "$@", or ">T" past $TIMEOUT seconds
  python3 - "$TIMEOUT" "$@" <<'PY'
import resource, subprocess, sys, time
limit, cmd = float(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
try:
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit).returncode
    took = f"{time.perf_counter() - start:.2f}"
except subprocess.TimeoutExpired:
    code, took = "-", f">{limit:.0f}"
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{took} {peak:.0f} {code}")
PY
}

printf '%-16s %10s %9s %8s %9s %9s' image count entries seconds peakMiB budgetMiB
[ -n "${BASELINE:-}" ] && printf ' %10s %9s' "before s" "before MiB"
echo
for name in "${names[@]}"; do
  image=$DIR/$name.tar
  line=$("$BIN/gen-testdata" crafted "$name" "$image" "$SCALE")
  # "wrote PATH (COUNT NAME: E entries in L layers, P bytes of paths, T bytes of tar, D bytes
  # of package databases)"
  read -r count entries paths dbs < <(sed -E 's/.*\(([0-9]+) [^:]+: ([0-9]+) entries in [0-9]+ layers, ([0-9]+) bytes of paths, [0-9]+ bytes of tar, ([0-9]+) bytes of package.*/\1 \2 \3 \4/' <<<"$line")
  # As dive-tui/tests/crafted.rs: databases are held up to a layer's allowance, twice.
  held=$(( dbs < 64 * 1048576 + 1024 * entries ? dbs : 64 * 1048576 + 1024 * entries ))
  budget=$(( (64 * 1048576 + 600 * entries + 2 * paths + 2 * held) / 1048576 ))
  cat "$image" >/dev/null # the page cache warm for both
  read -r took peak code < <(measure "$BIN/dive-rs" "$image" --json)
  [ "$code" = 0 ] || { echo "$name: dive-rs exited $code" >&2; exit 1; }
  printf '%-16s %10s %9s %8s %9s %9s' "$name" "$count" "$entries" "$took" "$peak" "$budget"
  if [ -n "${BASELINE:-}" ]; then
    read -r before_took before_peak _ < <(measure "$BASELINE" "$image" --json)
    printf ' %10s %9s' "$before_took" "$before_peak"
  fi
  echo
  [ "$peak" -le "$budget" ] || echo "  $name: peak ${peak} MiB over the ${budget} MiB budget" >&2
  rm -f "$image"
done
