"""Sums Chrome traces of one training step per operator (self time: an operator's time minus its children's), for
the traces of org.orpo4j.bench.StepProfile (libtorch's profiler under DJL) and orpo_step_hf.py --profile
(torch.profiler), side by side:  python profile_summary.py ORPO4J.json TORCH.json [top]
"""
import collections
import json
import sys


def self_times(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    ops = [e for e in events if e.get("ph") == "X" and "dur" in e and e.get("cat", "cpu_op") in ("cpu_op", "Operator")
           and not e["name"].startswith("ProfilerStep")]
    by_thread = collections.defaultdict(list)
    for e in ops:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    totals = collections.Counter()
    counts = collections.Counter()
    for events in by_thread.values():
        events.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in events:
            while stack and stack[-1][0]["ts"] + stack[-1][0]["dur"] <= e["ts"]:
                done, child = stack.pop()
                totals[done["name"]] += done["dur"] - child
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0])
        while stack:
            done, child = stack.pop()
            totals[done["name"]] += done["dur"] - child
        for e in events:
            counts[e["name"]] += 1
    return totals, counts


def main():
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    ours, our_counts = self_times(sys.argv[1])
    theirs, their_counts = self_times(sys.argv[2])
    total_ours, total_theirs = sum(ours.values()) / 1e6, sum(theirs.values()) / 1e6
    print(f"self time summed over operators: orpo4j {total_ours:.2f} s, torch {total_theirs:.2f} s")
    print(f"{'operator':40s} {'orpo4j s':>9s} {'calls':>6s} {'torch s':>9s} {'calls':>6s}")
    for name in sorted(set(ours) | set(theirs), key=lambda n: -max(ours[n], theirs[n]))[:top]:
        print(f"{name[:40]:40s} {ours[name] / 1e6:9.3f} {our_counts[name]:6d} {theirs[name] / 1e6:9.3f} "
              f"{their_counts[name]:6d}")


if __name__ == "__main__":
    main()
