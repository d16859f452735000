# Sourced by the scripts: tool paths and build settings shared by every build of Lendscope.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Leptos reads this at compile time; setting it for every build lets test builds and
# cargo-leptos builds share compiled artifacts instead of rebuilding each other's.
export LEPTOS_OUTPUT_NAME=lendscope
target_dir="${CARGO_TARGET_DIR:-$root/target}"
