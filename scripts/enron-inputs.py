#!/usr/bin/env python3
"""Derive a users file and account/contact files for the Enron corpus from shared/data/enron-counterparts.

The org users are the Enron addresses that domains.csv lists as top peers of counterpart
organisations (about 1,300 addresses, inside the 2-2,500 rule); accounts are the counterpart org
domains, with their subdomains as the domain column; contacts are contacts.csv as it is.

Usage: enron-inputs.py SHARED_DATA_DIR OUT_DIR
"""
import csv
import os
import sys


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    peers = set()
    with open(os.path.join(data, "enron-counterparts", "domains.csv"), newline="") as src, \
            open(os.path.join(out, "accounts.csv"), "w", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(["AccountId", "Domains"])
        for row in csv.DictReader(src):
            peers.update(row["top_enron_peers"].split())
            writer.writerow([row["org_domain"], row["subdomains"]])
    with open(os.path.join(out, "users.txt"), "w") as dst:
        dst.write("# Enron addresses that are top peers of counterpart organisations\n")
        for address in sorted(peers):
            dst.write(address + "\n")
    with open(os.path.join(data, "enron-counterparts", "contacts.csv"), newline="") as src, \
            open(os.path.join(out, "contacts.csv"), "w", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(["Email", "AccountId"])
        for row in csv.DictReader(src):
            writer.writerow([row["email"], row["org_domain"]])


if __name__ == "__main__":
    main()
