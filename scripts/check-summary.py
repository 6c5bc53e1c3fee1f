#!/usr/bin/env python3
"""Checks that a run summary adds up: every mail copy read is processed or skipped for one reason,
the split of `skipped` into mail and calendar parts sums to the whole, and nothing is negative.

Usage: check-summary.py SUMMARY_JSON [--emails-seen N] [--files-ignored N]
"""
import json
import sys

MAIL_REASONS = ["unparseable", "invalid_date", "outside_window", "duplicate", "no_org_participant"]
ALL_REASONS = ["unparseable", "invalid_date", "outside_window", "no_org_participant", "automated",
               "duplicate", "ambiguous_contact", "not_a_meeting"]


def main():
    path = sys.argv[1]
    expected = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    s = json.load(open(path))
    problems = []
    if sorted(s["skipped"]) != sorted(ALL_REASONS):
        problems.append("skipped lists %s" % sorted(s["skipped"]))
    mail_skipped = sum(s["skipped_emails"][r] for r in MAIL_REASONS)
    if s["emails_seen"] != s["emails_processed"] + mail_skipped:
        problems.append("emails_seen %d != processed %d + skipped %d"
                        % (s["emails_seen"], s["emails_processed"], mail_skipped))
    for reason in ALL_REASONS:
        parts = s["skipped_emails"].get(reason, 0) + s["skipped_meetings"].get(reason, 0)
        if reason == "ambiguous_contact":
            parts = s["skipped"][reason]
        if s["skipped"][reason] != parts:
            problems.append("skipped.%s %d != mail %d + calendar %d" % (
                reason, s["skipped"][reason], s["skipped_emails"].get(reason, 0),
                s["skipped_meetings"].get(reason, 0)))
    if s["skipped_emails"]["automated"] > s["emails_processed"]:
        problems.append("more automated mail than processed mail")
    if s["emails_counted"] > s["emails_processed"] or s["meetings_counted"] > s["meetings_processed"]:
        problems.append("more counted than processed")
    if s["accounts_enriched"] > s["accounts_total"]:
        problems.append("more accounts enriched than in the customer data")
    for flag, key in [("--emails-seen", "emails_seen"), ("--files-ignored", "files_ignored")]:
        if flag in expected and s[key] != int(expected[flag]):
            problems.append("%s is %d, expected %s" % (key, s[key], expected[flag]))
    if problems:
        print("%s: summary does not add up:\n  %s" % (path, "\n  ".join(problems)))
        sys.exit(1)
    print("%s: ok (%d emails seen, %d processed, %d meetings processed, %d of %d accounts enriched)" % (
        path, s["emails_seen"], s["emails_processed"], s["meetings_processed"],
        s["accounts_enriched"], s["accounts_total"]))


if __name__ == "__main__":
    main()
