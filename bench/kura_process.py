"""Running the kura binary from a benchmark script: one process, timed, its output captured."""
import subprocess
import time


def run_kura(bin_path, project, *args):
    """Runs `kura --project PROJECT ARGS...`; returns (seconds, stdout, stderr), exits on failure."""
    cmd = [str(bin_path), "--project", str(project), *args]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return secs, r.stdout, r.stderr
