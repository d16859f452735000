#!/usr/bin/env bash
# Brings XGBoost 3.4.1's C library (libxgboost.so, the C API the TreeSHAP benchmark loads at
# run time) from its PyPI wheel, once, into a cache folder, and prints the library's absolute
# path on stdout, and nothing else (pip's and unzip's output go to stderr). A second run finds
# the library there and only prints its path.
#   cache folder: $LENDSCOPE_XGB_CACHE, default /var/cache/lendscope-ci/xgboost-3.4.1
# The wheel comes through pip from PyPI (no other download); Python's own xgboost package is
# neither needed nor touched. Used by scripts/bench-treeshap.sh.
set -euo pipefail
version=3.4.1
cache="${LENDSCOPE_XGB_CACHE:-/var/cache/lendscope-ci/xgboost-$version}"
lib="$cache/xgboost/lib/libxgboost.so"
# The wheel is auditwheel-repaired: libxgboost.so needs the OpenMP runtime shipped beside it
# (xgboost.libs/libgomp-*.so, found through its RPATH $ORIGIN/../../xgboost.libs), so both are
# kept in the wheel's layout. The stamp, written last, says both are complete.
stamp="$cache/.complete"

if [ ! -f "$stamp" ] || [ ! -s "$lib" ]; then
  mkdir -p "$cache/wheel"
  wheel="$(find "$cache/wheel" -maxdepth 1 -name "xgboost-$version-*.whl" -print -quit)"
  if [ -z "$wheel" ]; then
    # The wheel holds no Python extension module, so one tag of any CPython 3 fits; 3.12 and
    # manylinux_2_28 name the build pip should pick whatever Python runs pip here.
    python3 -m pip download "xgboost==$version" --no-deps --only-binary=:all: \
      --python-version 3.12 --platform manylinux_2_28_x86_64 \
      --disable-pip-version-check -q -d "$cache/wheel" >&2
    wheel="$(find "$cache/wheel" -maxdepth 1 -name "xgboost-$version-*.whl" -print -quit)"
  fi
  [ -n "$wheel" ] || { echo "xgboost-capi: no xgboost $version wheel in $cache/wheel" >&2; exit 1; }
  # Unpacked beside, then moved in place: an interrupted run never leaves a stamped half.
  tmp="$(mktemp -d "$cache/unzip.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  if command -v unzip >/dev/null; then
    unzip -q -o "$wheel" 'xgboost/lib/libxgboost.so' 'xgboost.libs/*' -d "$tmp" >&2
  else
    python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [n for n in z.namelist() if n == "xgboost/lib/libxgboost.so"
                           or (n.startswith("xgboost.libs/") and not n.endswith("/"))])' \
      "$wheel" "$tmp"
  fi
  rm -rf "$cache/xgboost.libs"
  mv "$tmp/xgboost.libs" "$cache/xgboost.libs"
  mkdir -p "$(dirname "$lib")"
  mv -f "$tmp/xgboost/lib/libxgboost.so" "$lib"
  touch "$stamp"
fi
realpath "$lib"
