#!/usr/bin/env bash
# Builds an OCI image from real PyPI wheels, outside the repository, to check attribution on
# real RECORD files: numpy, six, and three nvidia CUDA wheels sharing the nvidia/ namespace,
# installed by pip with its real download cache, which a later layer deletes; then a dist
# installed a second time with --user (one dist in two environments) and numpy reinstalled
# at another version (1.26.3 over 1.26.4) by later layers.
#
#   testdata/scripts/real-wheels-image.sh OUTDIR [small|torch]
#   (torch: torch==2.3.0 with its CUDA wheels, triton and dependencies, ~2.8 GB to download)
#   dive-rs report oci:OUTDIR/oci:real
#   DIVE_RS_REAL_WHEELS=OUTDIR cargo test -p dive-core --test it real_wheels -- --ignored
#
# Needs pip (PyPI), umoci. Writes OUTDIR/oci (the image) and OUTDIR/rootfs (what the first
# pip install wrote).
set -euo pipefail
out=${1:?usage: real-wheels-image.sh OUTDIR [small|torch]}
mode=${2:-small}
rm -rf "$out" && mkdir -p "$out"
out=$(cd "$out" && pwd)
site=usr/local/lib/python3.11/site-packages
target=(--only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp)
case $mode in
  small)
    wheels=(numpy==1.26.4 six==1.17.0 nvidia-cuda-runtime-cu12==12.1.105 nvidia-nvjitlink-cu12==12.4.127 nvidia-cuda-nvrtc-cu12==12.1.105)
    deps=(--no-deps) ;;
  torch)
    wheels=(torch==2.3.0 numpy==1.26.4)
    deps=() ;;
  *) echo "mode is small or torch" >&2; exit 2 ;;
esac

pip download -q "${deps[@]}" "${target[@]}" -d "$out/wheels" "${wheels[@]}"
pip install -q "${deps[@]}" --no-index --find-links "$out/wheels" "${target[@]}" --target "$out/rootfs/$site" "${wheels[@]}"
# The cache a Dockerfile's `RUN pip install` leaves behind. The registry mirror here answers
# with responses pip does not cache, so its HTTP cache stays empty: the real wheel files are
# put where pip keeps wheels in its cache instead.
mkdir -p "$out/rootfs/root/.cache/pip/wheels/6f/2a/0c"
cp "$out"/wheels/*.whl "$out/rootfs/root/.cache/pip/wheels/6f/2a/0c/"

umoci init --layout "$out/oci"
umoci new --image "$out/oci:real"
umoci insert --image "$out/oci:real" --history.created_by "RUN pip install ${wheels[*]}" \
  "$out/rootfs/$site" "/$site"
umoci insert --image "$out/oci:real" --history.created_by "RUN pip install (its download cache)" \
  "$out/rootfs/root/.cache/pip" /root/.cache/pip
umoci insert --image "$out/oci:real" --history.created_by "RUN rm -rf /root/.cache/pip" \
  --whiteout /root/.cache/pip
# One dist in a second environment (`pip install --user`): a one-module dist the first
# install wrote, copied as pip would write it again.
case $mode in small) second=six ;; torch) second=typing_extensions ;; esac
user=root/.local/lib/python3.11/site-packages
mkdir -p "$out/user/$user"
cp -r "$out/rootfs/$site/$second.py" "$out/rootfs/$site/$second"-*.dist-info "$out/user/$user/"
umoci insert --image "$out/oci:real" --history.created_by "RUN pip install --user $second" \
  "$out/user/root/.local" /root/.local
# A reinstall at another version: pip removes numpy 1.26.4's dist-info and writes 1.26.3's
# files over its files (umoci makes the removal a layer of its own).
pip download -q --no-deps "${target[@]}" -d "$out/wheels-again" numpy==1.26.3
pip install -q --no-deps --no-index --find-links "$out/wheels-again" "${target[@]}" --target "$out/again/$site" numpy==1.26.3
umoci insert --image "$out/oci:real" --history.created_by "RUN pip install numpy==1.26.3 (pip uninstalls 1.26.4)" \
  --whiteout "/$site/numpy-1.26.4.dist-info"
umoci insert --image "$out/oci:real" --history.created_by "RUN pip install numpy==1.26.3" \
  "$out/again/$site" "/$site"
echo "image: oci:$out/oci:real"
