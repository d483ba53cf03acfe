#!/usr/bin/env python3
"""Checks the rows of `mnemo cluster bench --json` (the cluster's test in `make test`).

Every scenario must end with no failed request (every stale route was corrected by the
forwarding node's one retry) and no lost acknowledged write; a join and a drain must settle (the
drained node empty), and a join may move at most 1.02 x the ideal number of spaces (rounded up;
at least 2 more, as at 300 spaces the planner's byte balancing may add a move or two: a drain
adds such moves too, so its count is reported, not bounded); under a hot space the planner must
act (move spaces), but need not have settled: the load average it plans on takes minutes to
come to rest (README, "Cluster"), and the run bounds it with --timeout. `--max-stale-percent P`
also bounds the stale-route errors (the issue's 0.02% is a rate, for the 5-node figures in
README; in a run of a few thousand requests one error is already 0.05%).

The fault scenarios (kill, pause, partition, etcd-restart, move-kill; three copies per space, majority
writes) must each end with every acknowledged insert present, the copies of every space converged
(equal sequence and checksum), no assignment version seen going down, no write acknowledged by a
paused primary after it was replaced, and every failover within `--failover-factor` x the member
lease TTL (the issue's goal is 2, for the five-node release figures in README; `make test` allows
3 on its debug build, where a loaded 2-core machine stretches a failover's etcd round trips).
"""
import argparse
import json
import math
import sys


def check_fault(row: dict, problems: list, factor: float) -> None:
    """The checks of a fault scenario's row."""
    name = row["scenario"]
    failover = row.get("failover_seconds")
    if failover is not None:
        print(f"  failover {failover:.2f} s (worst {row['failover_seconds_max']:.2f} s, lease {row['lease_ttl']} s) "
              f"over {row['rounds']} round(s); {row['acknowledged']} inserts acknowledged, "
              f"{row['indeterminate']} indeterminate")
        if row["failover_seconds_max"] > factor * row["lease_ttl"]:
            problems.append(f"{name}: failover took {row['failover_seconds_max']:.2f} s, over {factor} x the lease TTL")
    elif name in ("kill", "pause", "partition"):
        problems.append(f"{name}: no failover measured")
    if not row["finished"] or not row["converged"]:
        problems.append(f"{name}: {row['diverged_spaces']} spaces did not converge on their copies")
    if row["versions_decreased"] != 0:
        problems.append(f"{name}: assignment versions went down {row['versions_decreased']} times")
    if row["late_acknowledgements"] != 0:
        problems.append(f"{name}: {row['late_acknowledgements']} writes acknowledged by a replaced primary")
    if row["failed_requests"] != 0:
        problems.append(f"{name}: {row['failed_requests']} failed requests")
    if row["lost_writes"] != 0:
        problems.append(f"{name}: {row['lost_writes']} acknowledged inserts lost")
    if row["requests"] == 0 or row["acknowledged"] == 0:
        problems.append(f"{name}: no inserts ran during the scenario")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", default="join,drain,cross,hot,partition,kill,pause,etcd-restart,move-kill")
    parser.add_argument("--max-stale-percent", type=float)
    parser.add_argument("--failover-factor", type=float, default=2.0)
    args = parser.parse_args()
    rows = [json.loads(line) for line in sys.stdin if line.strip().startswith("{")]
    scenarios = {row["scenario"] for row in rows}
    expected = set(args.scenarios.split(","))
    problems = []
    if scenarios != expected:
        problems.append(f"scenarios {sorted(scenarios)}, expected {sorted(expected)}")
    for row in rows:
        name = row["scenario"]
        print(f"{name}: moved {row['moved']} (ideal {row['ideal_moved']}) in {row['seconds']:.1f} s, "
              f"stale routes {row['routing_errors_percent']:.4f}%, failed {row['failed_requests']}, "
              f"lost {row['lost_writes']}, requests {row['requests']}")
        if "converged" in row:
            check_fault(row, problems, args.failover_factor)
            continue
        if name != "hot" and not row["finished"]:
            problems.append(f"{name}: did not settle")
        if name == "hot" and row["moved"] == 0:
            problems.append("hot: the planner moved nothing")
        if row["failed_requests"] != 0:
            problems.append(f"{name}: {row['failed_requests']} failed requests")
        if row["lost_writes"] != 0:
            problems.append(f"{name}: {row['lost_writes']} acknowledged writes lost")
        if args.max_stale_percent is not None and row["routing_errors_percent"] > args.max_stale_percent:
            problems.append(f"{name}: stale-route errors {row['routing_errors_percent']:.4f}% of requests")
        if name == "join" and row["moved"] > max(math.ceil(1.02 * row["ideal_moved"]), row["ideal_moved"] + 2):
            problems.append(f"join moved {row['moved']} spaces, over 1.02 x ideal {row['ideal_moved']}")
        if name == "cross":
            print(f"  single-space search {row['single_qps']:.0f}/s (p50 {row['single_p50_ms']:.2f} ms, "
                  f"p99 {row['single_p99_ms']:.2f} ms), cross-space {row['cross_qps']:.0f}/s "
                  f"(p50 {row['cross_p50_ms']:.2f} ms, p99 {row['cross_p99_ms']:.2f} ms)")
            if row["cross_qps"] <= 0 or row["single_qps"] <= 0:
                problems.append("cross: no search answered")
        if row["requests"] == 0:
            problems.append(f"{name}: no writes ran during the scenario")
    for problem in problems:
        print("FAIL:", problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
