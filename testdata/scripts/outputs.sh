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
# Each line is "md5  command", the command relative to DIR. Covered: the summary and JSON,
# every report, diff and gate format (HTML and JUnit included), saved scans (the saved file's
# bytes and every output read back from it), cat and extract, the help texts, the manual page
# and the completion scripts. The TUI's screens are covered by dive-tui's insta snapshots.
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
  for format in text markdown json html; do
    fingerprint report "$image" --format "$format"
    fingerprint diff demo.tar "$image" --format "$format"
  done
  for format in text markdown json junit; do
    fingerprint ci "$image" --format "$format"
  done
done

# Saved scans: the file --save writes, and what each command reads back from it.
rm -rf saved && mkdir saved
for image in "${images[@]}"; do
  scan="saved/$(printf '%s' "$image" | tr '/' '_').dive"
  fingerprint "$image" --summary --save "$scan"
  printf '%s  saved bytes of %s\n' "$(md5sum <"$scan" | cut -d' ' -f1)" "$image"
  fingerprint "$scan" --json
  fingerprint "$scan" --summary
  fingerprint report "$scan" --format html
  fingerprint ci "$scan" --format junit
  fingerprint diff demo.tar "$scan" --format json
done

# Reading files back: one file's bytes (final and as a layer wrote it), and extract's listing.
fingerprint cat demo.tar app/main.py
fingerprint cat demo.tar app/config.yaml --layer 4
rm -rf extracted
fingerprint extract demo.tar app -o extracted
printf '%s  extracted tree\n' "$(cd extracted && find . -type f -exec md5sum {} + | sort -k2 | md5sum | cut -d' ' -f1)"
rm -rf extracted

# The command line's own texts.
fingerprint --help
fingerprint --version
for command in report ci diff cat extract completions man; do
  fingerprint "$command" --help
done
for shell in bash zsh fish powershell elvish; do
  fingerprint completions "$shell"
done
fingerprint man
