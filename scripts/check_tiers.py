"""Fail CI unless every tier ran: no skipped test, and integration, fault and e2e tests executed.

A green run that skipped the real-broker tiers would prove nothing, so it must not be green.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter

REQUIRED = {
    "tests.unit": 1260,
    "tests.contract": 120,
    "tests.integration": 290,
    "tests.faults": 7,
    "tests.e2e": 1,
}


def main(path: str) -> int:
    root = ET.parse(path).getroot()  # noqa: S314 - our own pytest output
    ran: Counter[str] = Counter()
    skipped, failed = [], []
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        if case.find("skipped") is not None:
            skipped.append(name)
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        tier = ".".join((case.get("classname") or "").split(".")[:2])
        ran[tier] += 1
    problems = [f"skipped: {s}" for s in skipped] + [f"failed: {f}" for f in failed]
    problems += [
        f"tier {t} ran {ran[t]} tests, expected at least {n}"
        for t, n in REQUIRED.items()
        if ran[t] < n
    ]
    for tier, n in sorted(ran.items()):
        print(f"{tier}: {n} tests ran")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print("every tier ran against real Kafka and PostgreSQL; nothing skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
