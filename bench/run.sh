#!/usr/bin/env bash
# Side-by-side benchmarks, reported as ratios measured in the same run (the machine is shared and
# noisy; absolute numbers drift, ratios hold).
#
#   bench/run.sh synthetic [N]   rapport enrich vs ../shared/bench/baseline.py on a gen_mbox.py corpus
#                                of N messages (default 1,000,000): wall time and peak memory
#   bench/run.sh enron           rapport enrich on the whole Enron set vs `cat` of the same files
#                                (page cache warm for both): wall time and peak memory
#   bench/run.sh graph           the Microsoft Graph sync against the test server (500 x 15,000
#                                messages, 200 ms per response) vs its floor
#   bench/run.sh incremental     a stored enrichment over the 1M corpus: first run, second run, and a
#                                run after adding 1,000 messages, as ratios to the first run
#
# Needs python3 with pandas for the baseline (pip install pandas) and zstd for Enron.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RAPPORT_SHARED:-$root/../shared}
out=$root/bench/out
mkdir -p "$out"
cargo build --release -q -p rapport --manifest-path "$root/Cargo.toml"
bin=$root/target/release/rapport

# Runs a command under /usr/bin/time; prints "seconds peak_kib".
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>"$log.err" || { cat "$log.err" >&2; rm -f "$log" "$log.err"; return 1; }
  tail -n 1 "$log"
  rm -f "$log" "$log.err"
}

ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1e-9)))" "$1" "$2"; }

synthetic() {
  local n=${1:-1000000}
  local data=$out/synthetic-$n
  if [ ! -f "$data/.complete" ]; then
    echo "generating $n messages into $data ..."
    python3 "$shared/bench/gen_mbox.py" --n "$n" --out "$data" --ics >/dev/null
    touch "$data/.complete"
  fi
  local size
  size=$(du -m "$data/mail.mbox" | cut -f1)
  cat "$data/mail.mbox" >/dev/null
  echo "corpus: $n messages, $size MB; cores: $(nproc)"
  local common=(--users "$data/org_users.csv" --contacts "$data/contacts.csv"
    --contact-email-column email --contact-account-column account_id
    --accounts "$data/accounts.csv" --account-id-column account_id
    --account-domains-column domain --account-domains-column alt_domain --match-domains
    --as-of 2026-01-01 --quiet)
  read -r base_s base_k < <(measure python3 "$shared/bench/baseline.py" "$data" --as-of 2026-01-01 --out "$out/baseline.csv")
  # The same input as the baseline: mail.mbox (the baseline does not read meetings).
  read -r ours_s ours_k < <(measure "$bin" enrich "${common[@]}" --source "$data/mail.mbox" --out "$out/rapport-mail")
  # rapport's whole job on the corpus: the mail and the meetings.
  read -r all_s all_k < <(measure "$bin" enrich "${common[@]}" --source "$data/mail.mbox" --source "$data/meetings.ics" --out "$out/rapport-all")
  printf '%-36s %10s %12s\n' "" "seconds" "peak MiB"
  printf '%-36s %10s %12d\n' "baseline.py (pandas, mail.mbox)" "$base_s" $((base_k / 1024))
  printf '%-36s %10s %12d\n' "rapport enrich (mail.mbox)" "$ours_s" $((ours_k / 1024))
  printf '%-36s %10s %12d\n' "rapport enrich (mail.mbox + .ics)" "$all_s" $((all_k / 1024))
  echo "same input: speed-up $(ratio "$base_s" "$ours_s")x, peak memory $(ratio "$ours_k" "$base_k") of the baseline's"
  echo "with meetings too: speed-up $(ratio "$base_s" "$all_s")x, peak memory $(ratio "$all_k" "$base_k") of the baseline's"
}

enron() {
  local mbox
  mbox=$("$root/scripts/unpack-enron.sh")
  python3 "$root/scripts/enron-inputs.py" "$shared/data" "$out/enron-inputs"
  local files
  files=$(find "$mbox" -type f | sort)
  # shellcheck disable=SC2086
  cat $files >/dev/null
  # shellcheck disable=SC2086
  read -r cat_s cat_k < <(measure cat $files)
  read -r ours_s ours_k < <(measure "$bin" enrich --users "$out/enron-inputs/users.txt" \
    --contacts "$out/enron-inputs/contacts.csv" --accounts "$out/enron-inputs/accounts.csv" \
    --account-domains-column Domains --match-domains --source "$mbox" --as-of 2002-01-01 \
    --out "$out/rapport-enron" --quiet)
  printf '%-28s %10s %12s\n' "" "seconds" "peak MiB"
  printf '%-28s %10s %12d\n' "cat (warm cache)" "$cat_s" $((cat_k / 1024))
  printf '%-28s %10s %12d\n' "rapport enrich" "$ours_s" $((ours_k / 1024))
  echo "rapport takes $(ratio "$ours_s" "$cat_s")x the time of cat"
}

# A stored enrichment over the 1M-message corpus: the first run, a second run on the same input,
# and a run after adding one mbox of 1,000 messages; the ratios to the first run, and the store size.
incremental() {
  local data=$out/synthetic-1000000
  [ -f "$data/.complete" ] || synthetic 1000000 >/dev/null
  local small=$out/synthetic-1000
  if [ ! -f "$small/.complete" ]; then
    python3 "$shared/bench/gen_mbox.py" --n 1000 --seed 7 --out "$small" >/dev/null 2>&1
    touch "$small/.complete"
  fi
  local work=$out/incremental
  rm -rf "$work" && mkdir -p "$work/mail"
  ln -s "$data/mail.mbox" "$work/mail/a.mbox"
  local store=(--data-dir "$work/data")
  "$bin" enrichment "${store[@]}" create Bench --users "$data/org_users.csv" --contacts "$data/contacts.csv" \
    --contact-email-column email --contact-account-column account_id --accounts "$data/accounts.csv" \
    --account-id-column account_id --account-domains-column domain --account-domains-column alt_domain \
    --match-domains on --source "$work/mail" >/dev/null
  "$bin" enrichment "${store[@]}" consent Bench --by bench --run-now >/dev/null
  # T at the corpus's end, so that the whole year is in the window.
  read -r first_s first_k < <(measure "$bin" enrichment "${store[@]}" run Bench --as-of 2026-01-01)
  read -r second_s second_k < <(measure "$bin" enrichment "${store[@]}" run Bench --as-of 2026-01-01)
  cp "$small/mail.mbox" "$work/mail/b.mbox"
  read -r added_s added_k < <(measure "$bin" enrichment "${store[@]}" run Bench --as-of 2026-01-01)
  printf '%-44s %10s %12s\n' "" "seconds" "peak MiB"
  printf '%-44s %10s %12d\n' "first run (reads 1M messages)" "$first_s" $((first_k / 1024))
  printf '%-44s %10s %12d\n' "second run, same input (reads nothing)" "$second_s" $((second_k / 1024))
  printf '%-44s %10s %12d\n' "after adding 1,000 messages (reads 1 file)" "$added_s" $((added_k / 1024))
  echo "second run: $(ratio "$second_s" "$first_s") of the first; after adding a file: $(ratio "$added_s" "$first_s")"
  echo "store on disk: $(du -sm "$work/data" | cut -f1) MB"
}

# The Graph sync against the test server as a separate process: MAILBOXES x MESSAGES (default
# 500 x 15,000) over a year, LATENCY_MS per response (default 200), the client's default caps
# (4 per mailbox, 64 in all). The sync is timed against its floor, pages x latency / allowed
# concurrency; peak memory is the client's alone.
graph() {
  local mailboxes=${MAILBOXES:-500} messages=${MESSAGES:-15000} latency=${LATENCY_MS:-200}
  cargo build --release -q -p rapport-graph-testserver -p rapport-graph --example sync_bench \
    --manifest-path "$root/Cargo.toml"
  local work=$out/graph
  rm -rf "$work" && mkdir -p "$work"
  "$root/target/release/rapport-graph-testserver" --mailboxes "$mailboxes" \
    --messages-per-mailbox "$messages" --latency-ms "$latency" --as-of 2026-03-01 \
    >"$work/server.log" 2>&1 &
  local server=$!
  trap 'kill $server 2>/dev/null' RETURN
  local url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on //p' "$work/server.log")
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$work/server.log" >&2; return 1; }
  printf 'tenant_id = "8f1c0d2e-4b5a-4c3d-9e8f-7a6b5c4d3e2f"\nclient_id = "2a7b9c1d-3e4f-4a5b-8c6d-0e1f2a3b4c5d"\nclient_secret = "test-secret~0123456789abcdef"\nlogin_endpoint = "%s"\ngraph_endpoint = "%s"\n' \
    "$url" "$url" >"$work/graph.toml"
  echo "test server: $mailboxes mailboxes x $messages messages, ${latency} ms per response"
  /usr/bin/time -f 'client peak memory: %M KiB' "$root/target/release/examples/sync_bench" \
    --graph-config "$work/graph.toml" --latency-ms "$latency" --as-of 2026-03-01
}

case "${1:-}" in
  synthetic) synthetic "${2:-}" ;;
  incremental) incremental ;;
  enron) enron ;;
  graph) graph ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
