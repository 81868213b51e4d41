#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the parsers that take outside input:
# application.properties text, certificate and system names, addresses, interfaces, metadata,
# STOMP frames from the relay, relay envelopes and authorization tokens (fuzz/fuzz_targets).
# Each target runs for ARROWHEAD_FUZZ_SECONDS (20) from the small seed corpus in fuzz/corpus
# (copied, so a run leaves the checkout clean); a crash fails the run and its input is kept
# in fuzz/artifacts. cargo fuzz needs nightly features: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain build with them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_PER_TARGET="${ARROWHEAD_FUZZ_SECONDS:-20}"
CARGO_FUZZ_VERSION=0.13.2
ensure_packages
ensure_cargo
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
cd "$ROOT/fuzz"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-fuzz-corpus.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "building the fuzz targets"
cargo fuzz build --sanitizer none --release >/dev/null 2>&1 || cargo fuzz build --sanitizer none --release
total=0
for target in $(cargo fuzz list); do
  cp -r "corpus/$target" "$WORK/$target"
  log "fuzzing $target for ${SECONDS_PER_TARGET}s"
  out="$WORK/$target.log"
  if ! cargo fuzz run --sanitizer none --release "$target" "$WORK/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=2048 >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    die "fuzz target $target failed; its input is in fuzz/artifacts/$target"
  fi
  runs=$(grep -aoE 'Done [0-9]+ runs' "$out" | grep -oE '[0-9]+' | tail -1 || echo 0)
  echo "  $target: ${runs:-0} runs, corpus $(ls "$WORK/$target" | wc -l) inputs"
  total=$(( total + ${runs:-0} ))
done
log "parser fuzzing passed: $total runs, no crash"
