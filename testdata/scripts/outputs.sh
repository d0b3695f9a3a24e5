#!/usr/bin/env bash
# Fingerprints every output of dive-rs on the demo and every generated fixture form, so that
# a change meant to keep behaviour (a restructuring) can show its outputs are byte-identical:
#
#   testdata/scripts/outputs.sh BIN DIR [GB]   > before.md5
#   (change, rebuild)
#   testdata/scripts/outputs.sh BIN DIR [GB]   > after.md5 && diff before.md5 after.md5
#
# BIN is a dive-rs binary; DIR holds the generated images (kept between runs, so that the
# paths inside the JSON documents stay the same); GB > 0 adds `gen-testdata large DIR/large GB`.
# Each line is "md5  command", the command relative to DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "$1")
dir=$(realpath -m "$2")
gb=${3:-0}
mkdir -p "$dir"
gen() { cargo run --quiet --release --locked -p dive-testdata --bin gen-testdata -- "$@" >/dev/null; }
[ -e "$dir/demo.tar" ] || gen demo "$dir/demo.tar"
[ -e "$dir/forms" ] || gen forms "$dir/forms"
[ -e "$dir/demo-v2" ] || gen demo-v2 "$dir/demo-v2"
[ -e "$dir/hostile.tar" ] || gen hostile "$dir/hostile.tar"
if [ "$gb" != 0 ] && [ ! -e "$dir/large" ]; then
  gen large "$dir/large" "$gb"
fi

cd "$dir"
images=(demo.tar demo-v2 hostile.tar)
for form in forms/*; do
  case "$form" in *.json | *.txt) continue ;; esac
  images+=("$form")
done
[ -d large ] && for form in large/*; do images+=("$form"); done

# Exit 1 (a failed gate) is an output too; anything else is not.
fingerprint() {
  local out status=0
  out=$(env -u CI NO_COLOR=1 "$bin" "$@" 2>&1) || status=$?
  [ "$status" -le 1 ] || { echo "dive-rs $*: exit $status: $out" >&2; exit 1; }
  printf '%s  %s (exit %s)\n' "$(printf '%s' "$out" | md5sum | cut -d' ' -f1)" "$*" "$status"
}
for image in "${images[@]}"; do
  fingerprint "$image" --json
  fingerprint "$image" --summary
  fingerprint "$image" --summary --bytes
  for format in text markdown json; do
    fingerprint report "$image" --format "$format"
    fingerprint diff demo.tar "$image" --format "$format"
  done
  for format in text markdown json junit; do
    fingerprint ci "$image" --format "$format"
  done
done
