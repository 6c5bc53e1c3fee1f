#!/usr/bin/env bash
# Corpus checks on the real data in ../shared/data: every Enron mbox, every edge-case message and
# every .ics file goes through `rapport enrich` without a panic, and each summary adds up; every
# documented Microsoft Graph payload reads through the Graph page readers as expected.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${RAPPORT_SHARED:-$root/../shared}
data=$shared/data
bin=${RAPPORT_BIN:-$root/target/release/rapport}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf 'alice@org.example\nbob@org.example\n' > "$work/users.txt"
printf 'Email,AccountId\n' > "$work/contacts.csv"

echo "== mail edge cases"
n_eml=$(find "$data/mail-edgecases" -type f -iname '*.eml' | wc -l)
n_other=$(find "$data/mail-edgecases" -type f ! -iname '*.eml' | wc -l)
"$bin" enrich --users "$work/users.txt" --contacts "$work/contacts.csv" --source "$data/mail-edgecases" \
  --as-of 2026-01-01 --out "$work/edge" --quiet
python3 "$root/scripts/check-summary.py" "$work/edge/summary.json" --emails-seen "$n_eml" --files-ignored "$n_other"

echo "== iCalendar files"
for as_of in 2004-01-01 2012-01-01 2022-06-01 2026-01-01; do
  "$bin" enrich --users "$work/users.txt" --contacts "$work/contacts.csv" --source "$data/ical" \
    --as-of "$as_of" --out "$work/ical-$as_of" --quiet
  python3 "$root/scripts/check-summary.py" "$work/ical-$as_of/summary.json" --emails-seen 0
done

echo "== Microsoft Graph documented payloads"
cargo run --release -q -p rapport-graph --example graph_payloads --manifest-path "$root/Cargo.toml" -- "$data/msgraph"

echo "== Enron (325k messages)"
enron=$("$root/scripts/unpack-enron.sh")
python3 "$root/scripts/enron-inputs.py" "$data" "$work/enron-inputs"
"$bin" enrich --users "$work/enron-inputs/users.txt" --contacts "$work/enron-inputs/contacts.csv" \
  --accounts "$work/enron-inputs/accounts.csv" --account-domains-column Domains --match-domains \
  --source "$enron" --as-of 2002-01-01 --out "$work/enron" --quiet
expected=$(awk -F'\t' 'NR > 1 { n += $3 } END { print n }' "$data/enron/MANIFEST.tsv")
python3 "$root/scripts/check-summary.py" "$work/enron/summary.json" --emails-seen "$expected"
