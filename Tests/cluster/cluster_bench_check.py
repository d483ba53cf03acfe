#!/usr/bin/env python3
"""Checks the rows of `mnemo cluster bench --json` (the cluster's test in `make test`).

Every scenario must settle with no failed request and no lost acknowledged write, stale-route
errors at most MAX_STALE_PERCENT of the requests, and a join may move at most 1.02 x the ideal
number of spaces (rounded up).
"""
import json
import math
import sys

MAX_STALE_PERCENT = 0.02


def main() -> None:
    rows = [json.loads(line) for line in sys.stdin if line.strip().startswith("{")]
    scenarios = {row["scenario"] for row in rows}
    expected = set(sys.argv[1].split(",")) if len(sys.argv) > 1 else {"join", "drain", "hot"}
    problems = []
    if scenarios != expected:
        problems.append(f"scenarios {sorted(scenarios)}, expected {sorted(expected)}")
    for row in rows:
        name = row["scenario"]
        print(f"{name}: moved {row['moved']} (ideal {row['ideal_moved']}) in {row['seconds']:.1f} s, "
              f"stale routes {row['routing_errors_percent']:.4f}%, failed {row['failed_requests']}, "
              f"lost {row['lost_writes']}, requests {row['requests']}")
        if not row["finished"]:
            problems.append(f"{name}: did not settle")
        if row["failed_requests"] != 0:
            problems.append(f"{name}: {row['failed_requests']} failed requests")
        if row["lost_writes"] != 0:
            problems.append(f"{name}: {row['lost_writes']} acknowledged writes lost")
        if row["routing_errors_percent"] > MAX_STALE_PERCENT:
            problems.append(f"{name}: stale-route errors {row['routing_errors_percent']:.4f}% of requests")
        if name == "join" and row["moved"] > math.ceil(1.02 * row["ideal_moved"]):
            problems.append(f"join moved {row['moved']} spaces, over 1.02 x ideal {row['ideal_moved']}")
        if name == "drain" and row["moved"] != row["ideal_moved"]:
            problems.append(f"drain moved {row['moved']} spaces, the node owned {row['ideal_moved']}")
        if row["requests"] == 0:
            problems.append(f"{name}: no writes ran during the scenario")
    for problem in problems:
        print("FAIL:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
