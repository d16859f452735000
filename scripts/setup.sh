#!/usr/bin/env bash
# Installs what building Lendscope needs, skipping whatever is already there: Debian packages,
# the wasm target, wasm-bindgen-cli (the version in Cargo.lock) and the npm packages of end2end/
# (binaryen's wasm-opt; Playwright). `scripts/build.sh` needs nothing more.
#   --test          also what the test command needs: Chromium, promtool, the Python reference
#                   packages of the parity tests and of API fuzzing, nannyml in a venv of its own.
#   --cargo-leptos  also cargo-leptos 0.3.2 (about 14 minutes on two cores), for developers who
#                   want `cargo leptos watch`; no script of the project needs it.
# Nothing here downloads prebuilt binaries outside the package registries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
test_tools=false; cargo_leptos=false
for arg in "$@"; do
  case "$arg" in
    --test) test_tools=true ;;
    --cargo-leptos) cargo_leptos=true ;;
    *) echo "usage: scripts/setup.sh [--test] [--cargo-leptos]" >&2; exit 2 ;;
  esac
done

# Debian packages: a C toolchain for XGBoost (cmake, libclang for bindgen), curl for health
# checks; for the tests Chromium (browser tests) and prometheus for promtool (checks
# deploy/prometheus/).
packages=(cmake libclang-dev curl ca-certificates pkg-config python3)
command -v npm >/dev/null || packages+=(nodejs npm)
if $test_tools; then packages+=(chromium prometheus); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.2 is the newest that builds with this toolchain (about 14 minutes, once).
if $cargo_leptos && ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.2'; then
  say "installing cargo-leptos 0.3.2 (slow, once per machine)"
  cargo install --locked cargo-leptos --version 0.3.2
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
wbg="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  say "installing wasm-bindgen-cli $wbg"
  cargo install wasm-bindgen-cli --version "$wbg"
fi

# Playwright (driving Debian's Chromium) and binaryen 123's wasm-opt (Debian's breaks hydration).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing npm packages of end2end/"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi
# Python reference packages for the parity tests (xgboost, evidently, fairlearn) and fuzzing.
if $test_tools && ! python3 -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt \
     --root-user-action=ignore 2>/tmp/lendscope-pip.log; then
  cat /tmp/lendscope-pip.log >&2
  exit 1
fi
# nannyml (the reference of `lendscope estimate`) pins xgboost 2.1 and imports statsmodels
# without declaring it: it gets a virtual environment of its own, outside the clone.
nannyml_venv="${LENDSCOPE_NANNYML_VENV:-$HOME/.cache/lendscope/nannyml-venv}"
if $test_tools && ! "$nannyml_venv/bin/python" -c 'import nannyml, statsmodels' 2>/dev/null; then
  say "creating nannyml's virtual environment in $nannyml_venv"
  python3 -m venv "$nannyml_venv"
  if ! "$nannyml_venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-nannyml.txt \
       2>/tmp/lendscope-pip-nannyml.log; then
    cat /tmp/lendscope-pip-nannyml.log >&2
    exit 1
  fi
fi
say "ready"
