#!/usr/bin/env bash
# The ≥ 100× target of issue #27: dive-rs --json against dive 0.13.1 on a 12.2 GB
# docker-archive shaped like a real torch+CUDA image (`gen-testdata torch-cuda`: one ~11 GB
# pip layer of ~33k entries, a deleted 4.4 GB pip cache, a layer that chmods 60 MB of
# libraries and strips a 450 MB one). Runs are interleaved (dive-rs, dive, dive-rs, …) with
# the page cache warm; prints every pair and the median of the ratios.
#
#   benches/hundredfold.sh [DIR]     DIR keeps the image (default /tmp/dive-rs-torch-cuda;
#                                    about 13 GB; delete it afterwards)
#   RUNS=5 DIVE_BIN=… benches/hundredfold.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/dive-rs-torch-cuda}
RUNS=${RUNS:-5}
DIVE=${DIVE_BIN:-$PWD/target/tools/dive-0.13.1}
[ -x "$DIVE" ] || { echo "dive 0.13.1 not found at $DIVE (scripts/test --install fetches it)" >&2; exit 2; }
cargo build --release --locked --quiet -p dive-tui -p dive-testdata
BIN=$PWD/target/release
ARCHIVE=$DIR/docker-archive.tar
[ -f "$ARCHIVE" ] || "$BIN/gen-testdata" torch-cuda "$DIR"
echo "image: $ARCHIVE, $(stat -c %s "$ARCHIVE") bytes" >&2
cat "$ARCHIVE" >/dev/null # page cache warm for both

seconds() { # the wall time of "$@" in seconds, its output dropped (dive exits 1 when its
  # default rules fail: the status is not checked)
  python3 -c 'import subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{time.perf_counter() - start:.4f}")' "$@"
}

"$BIN/dive-rs" "$ARCHIVE" --json >/dev/null # warm-up
pairs=()
for run in $(seq "$RUNS"); do
  ours=$(seconds "$BIN/dive-rs" "$ARCHIVE" --json)
  theirs=$(seconds env CI=true "$DIVE" "docker-archive://$ARCHIVE")
  echo "run $run: dive-rs $ours s, dive $theirs s"
  pairs+=("$ours $theirs")
done
printf '%s\n' "${pairs[@]}" | python3 -c '
import statistics, sys
pairs = [tuple(map(float, line.split())) for line in sys.stdin]
ours, theirs = zip(*pairs)
ratio = statistics.median(t / o for o, t in pairs)
verdict = "met" if ratio >= 100 else "missed"
print(f"median: dive-rs {statistics.median(ours):.3f} s, dive {statistics.median(theirs):.3f} s, "
      f"median ratio {ratio:.1f}x (target >= 100x: {verdict})")'
