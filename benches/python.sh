#!/usr/bin/env bash
# dive_rs.analyze (the Python wheel) against the dive-rs command on the same image, in one
# run: both whole processes under hyperfine (interleaving is hyperfine's, one command after
# the other), then analyze() and to_dict() timed inside one interpreter.
#
#   benches/python.sh IMAGE [WHEEL]   WHEEL defaults to a release wheel built now with
#                                     maturin (target/tools/py-build, from scripts/test
#                                     --install)
#   RUNS=10 benches/python.sh IMAGE
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:?usage: benches/python.sh IMAGE [WHEEL]}
RUNS=${RUNS:-10}
MATURIN=$PWD/target/tools/py-build/bin/maturin
cargo build --release --locked --quiet -p dive-tui
WHEEL=${2:-}
if [ -z "$WHEEL" ]; then
  "$MATURIN" build --quiet --release --strip --locked -m dive-py/Cargo.toml --out target/wheels/release
  WHEEL=$(ls -t target/wheels/release/dive_rs-*.whl | head -n 1)
fi
echo "wheel: $WHEEL, $(stat -c %s "$WHEEL") bytes" >&2
VENV=$(mktemp -d)
trap 'rm -rf "$VENV"' EXIT
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "$WHEEL"

hyperfine -N -w 1 -r "$RUNS" --output=null \
  -n "dive-rs IMAGE --json" "$PWD/target/release/dive-rs $IMAGE --json" \
  -n "python: import dive_rs; dive_rs.analyze(IMAGE)" \
  "$VENV/bin/python -c 'import dive_rs, sys; dive_rs.analyze(sys.argv[1])' $IMAGE" \
  -n "the wheel's dive-rs IMAGE --json" "$VENV/bin/dive-rs $IMAGE --json"

"$VENV/bin/python" - "$IMAGE" "$RUNS" <<'PY'
import statistics, sys, time
import dive_rs

image, runs = sys.argv[1], int(sys.argv[2])
dive_rs.analyze(image)  # warm-up
analyze, to_dict = [], []
for _ in range(runs):
    start = time.perf_counter()
    analysis = dive_rs.analyze(image)
    middle = time.perf_counter()
    analysis.to_dict()
    analyze.append(middle - start)
    to_dict.append(time.perf_counter() - middle)
print(f"in one interpreter, median of {runs}: analyze() {statistics.median(analyze):.3f} s, "
      f"to_dict() {statistics.median(to_dict):.3f} s")
PY
