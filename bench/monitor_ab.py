"""Interleaved A/B of `kura monitor` runs: binaries and projects in turn, the median of each.

    python3 bench/monitor_ab.py BIN:PROJECT[,BIN:PROJECT...] ROUNDS

Each pair runs `BIN --project PROJECT --quiet monitor -s bench.events` once per round, in the
order given, so that a machine whose speed drifts (a shared VM) slows every pair alike. Used for
the notes in RESULTS.md ("Monitors: where the time goes"); the projects are made as
bench/monitors.py makes its own, with `[storage] compression` set in kura.toml.
"""
import statistics
import subprocess
import sys
import time


def main():
    pairs = [p.split(":", 1) for p in sys.argv[1].split(",")]
    rounds = int(sys.argv[2])
    times = {tuple(p): [] for p in pairs}
    for _ in range(rounds):
        for binary, project in pairs:
            t0 = time.perf_counter()
            subprocess.run([binary, "--project", project, "--quiet", "monitor", "-s", "bench.events"],
                           check=True, capture_output=True)
            times[(binary, project)].append(time.perf_counter() - t0)
    for (binary, project), t in times.items():
        print(f"{binary} {project}: median {statistics.median(t):.3f} s, min {min(t):.3f} s, "
              f"max {max(t):.3f} s")


if __name__ == "__main__":
    main()
