#!/usr/bin/env bash
# Where the time goes on the targets compare.sh reports as missed: a perf profile of dive-rs
# and of the floor it is measured against, per thread (CPU time, and when the thread was
# first and last seen on a CPU), with the functions that take the most of each thread.
# Samples are cpu-clock ones: this machine's VM has no hardware counters.
#
#   benches/profile.sh [DIR]    DIR: the image compare.sh generated (default /tmp/dive-rs-bench)
#
# Needs perf (Debian's linux-perf), pigz and zstd. Keeps the recordings in DIR/profiles.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/dive-rs-bench}
HZ=1999
for tool in perf pigz zstd; do
  command -v "$tool" >/dev/null || { echo "profile.sh: $tool is missing" >&2; exit 2; }
done
[ -d "$DIR/oci-zstd" ] || { echo "profile.sh: run benches/compare.sh first, to make $DIR" >&2; exit 2; }
cargo build --release --quiet -p dive-tui
DIVE_RS=$PWD/target/release/dive-rs
OUT=$DIR/profiles
mkdir -p "$OUT"
GZ_BLOBS=$(find "$DIR/oci-gzip/blobs/sha256" -type f -size +64k | sort)
BIG_ZST=$(ls -S "$DIR"/oci-zstd/blobs/sha256/* | head -1)

# profile NAME COMMAND: records one warm run (after an unrecorded one) and summarises it.
profile() {
  local name=$1 cmd=$2
  sh -c "$cmd" >/dev/null 2>&1 || true
  perf record -q -F "$HZ" -o "$OUT/$name.perf" -- sh -c "$cmd" >/dev/null 2>&1 || true
  echo
  echo "== $name: $cmd"
  perf script -i "$OUT/$name.perf" -F comm,tid,time 2>/dev/null | awk -v hz="$HZ" '
    { t = $3 + 0; k = $1 " " $2; if (!(k in n)) first[k] = t; last[k] = t; n[k]++
      if (start == "" || t < start) start = t; if (t > end) end = t }
    END {
      printf "wall (first to last sample) %.0f ms; CPU %.0f ms\n", (end - start) * 1000, NR * 1000 / hz
      for (k in n) if (n[k] * 1000 / hz >= 10)
        printf "  thread %-22s %6.0f ms on a CPU, seen %5.0f – %5.0f ms\n", k, n[k] * 1000 / hz,
          (first[k] - start) * 1000, (last[k] - start) * 1000 | "sort -k4 -n -r"
    }'
  echo "  top functions (share of all samples, thread name):"
  perf report -i "$OUT/$name.perf" --no-children --sort comm,sym --stdio --percent-limit 2 \
    2>/dev/null | grep -E '^ +[0-9]' | head -14 | sed 's/^/  /'
}

profile "docker-archive" "$DIVE_RS $DIR/docker-archive.tar --json"
profile "oci-gzip" "$DIVE_RS $DIR/oci-gzip --json"
profile "pigz" "pigz -dc $(echo $GZ_BLOBS)"
profile "oci-zstd" "$DIVE_RS $DIR/oci-zstd --json"
profile "zstd" "zstd -dcq $BIG_ZST"
