#!/usr/bin/env bash
# Gradescope autograder setup: runs once when the autograder image is built (Ubuntu).
# Installs the toolchains students may use and builds shout from the source shipped in
# the autograder zip (this folder's parent must contain shout's Cargo.toml).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    build-essential curl ca-certificates python3 default-jdk-headless nodejs golang-go
if ! command -v cargo >/dev/null; then
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
. "$HOME/.cargo/env"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/shout"
cargo build --release --locked
install -m 0755 target/release/shout /usr/local/bin/shout
# The reference's own units, once for every student: without them each grading runs them
# again (about 5 s more per submission). A failure here only costs that time.
bash "$here/warm_cache" reference || true
