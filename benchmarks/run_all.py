"""Run every benchmark script in this folder and keep its report in _build/benchmarks/.

Benchmarks time perturbkit side by side with the reference package on the same data and
print ratios (speed, agreement); they are not part of `make test`. Scripts whose optional
reference package is missing say so and exit 0.

Usage: python benchmarks/run_all.py [NAME ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "_build" / "benchmarks"


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py")
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    failed = []
    for script in scripts:
        start = time.time()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        report = proc.stdout + ("\n" + proc.stderr if proc.returncode else "")
        (OUT / f"{script.stem}.txt").write_text(report)
        state = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        print(f"== {script.stem}: {state} in {time.time() - start:.0f} s\n{report}")
        if proc.returncode:
            failed.append(script.stem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
