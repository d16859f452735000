#!/usr/bin/env bash
# Builds Lendscope as `cargo leptos build [--release]` (cargo-leptos 0.3.2) does, step for step,
# without needing cargo-leptos installed (it takes ~14 minutes to install on two cores, more
# than the rest of a fresh machine's set-up together):
#   1. the hydration bundle: `lendscope-frontend` for wasm32 (profile `wasm-release` with
#      --release), its own target folder `front/` as cargo-leptos uses;
#   2. wasm-bindgen (--target web), the module renamed to `lendscope.wasm` as Leptos's
#      `HydrationScripts` expects; with --release, binaryen's wasm-opt -Oz;
#   3. `public/` and `style/main.css` (plain CSS, copied) into the site folder;
#   4. the server binary (`lendscope-server`, features `ssr` and `train`: the run command's
#      `lendscope demo` trains the demo models and the registry page retrains, both with
#      XGBoost; without `train` the binary only serves).
# The site goes to ./target/site (LENDSCOPE_SITE_ROOT's default), the binary to
# $CARGO_TARGET_DIR/{debug,release}/lendscope. `cargo leptos build`/`watch` keep working for
# developers who install cargo-leptos: the workspace metadata is unchanged.
# Usage: scripts/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

release=false
case "$*" in
  --release) release=true ;;
  "") ;;
  *) echo "usage: scripts/build.sh [--release]" >&2; exit 2 ;;
esac
say() { printf '\033[1;34m[build]\033[0m %s\n' "$*"; }

site="$root/target/site"
pkg="$site/pkg"
if $release; then
  front_profile=(--profile=wasm-release); front_dir=wasm-release; server_profile=(--release)
else
  front_profile=(); front_dir=debug; server_profile=()
fi

say "hydration bundle (wasm32, ${front_dir})"
cargo build --package=lendscope-frontend --lib --target=wasm32-unknown-unknown \
  --target-dir="$target_dir/front" --no-default-features --features=hydrate \
  "${front_profile[@]}" --locked

# wasm-bindgen and wasm-opt only when the module changed (wasm-opt -Oz takes about a minute).
wasm="$target_dir/front/wasm32-unknown-unknown/$front_dir/lendscope_frontend.wasm"
stamp="$front_dir $(sha256sum "$wasm" | cut -d' ' -f1)"
if [ "$(cat "$root/target/.site-built-from" 2>/dev/null)" != "$stamp" ] || [ ! -f "$pkg/lendscope.wasm" ]; then
  say "wasm-bindgen"
  rm -rf "$site"
  mkdir -p "$pkg"
  wasm-bindgen --target=web --out-name=lendscope --out-dir="$pkg" --no-typescript "$wasm"
  mv "$pkg/lendscope_bg.wasm" "$pkg/lendscope.wasm"
  if $release; then
    say "wasm-opt -Oz"
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$pkg/lendscope.wasm" -o "$pkg/lendscope.wasm"
  fi
  printf '%s' "$stamp" >"$root/target/.site-built-from"
else
  say "hydration bundle unchanged: $pkg"
fi

say "assets and style"
find public -mindepth 1 -maxdepth 1 ! -name index.html -exec cp -r {} "$site/" \;
{ cat style/main.css; echo; } >"$pkg/lendscope.css"

say "server (${server_profile[*]:-debug})"
cargo build --package=lendscope-server --bin=lendscope --no-default-features --features=ssr,train \
  "${server_profile[@]}" --locked
say "built $target_dir/$($release && echo release || echo debug)/lendscope and $site"
