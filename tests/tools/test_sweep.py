"""tools/sweep.py: a 4-run grid on a 2-worker LocalCluster, retries, resuming, the gathered table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import sweep  # noqa: E402  (a script, not a package)

pytest.importorskip("dask.distributed")

TINY = '''---
jupyter:
  kernelspec:
    display_name: perturbkit
    language: python
    name: perturbkit
---

```python tags=["parameters"]
seed: int = 0  # a seed
smoke: bool = False  # smoke mode
scale: float = 1.0  # multiplies the seed
```

```python
import json, os, pathlib
if scale < 0 and seed == 3:
    raise ValueError(f"negative scale {scale}")
# what pk.book.record writes, without importing the library: keeps the test fast
out = pathlib.Path(os.environ["PERTURBKIT_RESULTS_DIR"]) / "tiny.json"
out.write_text(json.dumps({"product": seed * scale, "smoke": smoke, "_meta": {"seed": seed}}))
```
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "tiny.md").write_text(TINY)
    return tmp_path


def _sweep_file(root: Path, scales: list[float]) -> Path:
    path = root / "tiny.yaml"
    path.write_text(json.dumps({"name": "tiny", "chapters": ["tiny"], "mode": "smoke",
                                "grid": {"seed": [2, 3], "scale": scales}, "retries": 1}))
    return path


def test_four_runs_on_a_local_cluster(root: Path) -> None:
    rc = sweep.main([str(_sweep_file(root, [1.0, -1.0])), "--root", str(root), "--workers", "2"])
    assert rc == 1  # one run fails by design
    out = root / "_build" / "sweeps" / "tiny"
    table = pd.read_csv(out / "results.csv")
    products = table[table["key"] == "product"].set_index(["seed", "scale"])["value"].astype(float)
    assert products.to_dict() == {(2, 1.0): 2.0, (3, 1.0): 3.0, (2, -1.0): -2.0}  # the failed run leaves none
    assert set(table.loc[table["key"] == "smoke", "value"].astype(str)) == {"True"}  # smoke mode reached the chapter
    page = (out / "summary.md").read_text()
    assert "3 of 4 runs ok" in page and "ValueError: negative scale -1.0" in page
    failed = [json.loads(p.read_text()) for p in out.glob("*/status.json")]
    assert sorted(s["attempts"] for s in failed if s["status"] == "failed") == [2]  # retried once
    # resumable: a run already ok is not executed again
    run = next(r for r in sweep.runs(sweep.load_sweep(root / "tiny.yaml", root)) if r["params"]["scale"] == 1.0)
    again = sweep.execute(run, "smoke", str(root), str(out), 1)
    assert again["status"] == "ok" and again["resumed"] is True


def test_unknown_parameter_fails_before_any_run(root: Path, capsys) -> None:
    bad = root / "bad.yaml"
    bad.write_text(json.dumps({"name": "bad", "chapters": ["tiny"], "grid": {"sede": [1]}}))
    assert sweep.main([str(bad), "--root", str(root)]) == 2
    assert "sede" in capsys.readouterr().err
    assert not (root / "_build" / "sweeps" / "bad").exists()


def test_example_sweep_is_valid() -> None:
    spec = sweep.load_sweep(ROOT / "sweeps" / "principles_holdout.yaml")
    assert len(sweep.runs(spec)) == 9 and spec["mode"] == "smoke"


def test_each_run_saves_model_weights_in_its_own_folder(tmp_path) -> None:
    """Two principles runs on two workers shared _build/checkpoints and one failed on the other's
    weights (benchmarks/sweep_timing.py, seed 0): every run now gets <its folder>/checkpoints."""
    spec = sweep.load_sweep(ROOT / "sweeps" / "scale_timing.yaml")
    first, second = sweep.runs(spec)[:2]
    p1 = sweep.run_parameters(first, "smoke", ROOT, tmp_path / first["id"])
    p2 = sweep.run_parameters(second, "smoke", ROOT, tmp_path / second["id"])
    assert p1["checkpoint_dir"] == str(tmp_path / first["id"] / "checkpoints")
    assert p1["checkpoint_dir"] != p2["checkpoint_dir"] and p1["smoke"] is True
    chosen = {**first, "params": {**first["params"], "checkpoint_dir": "/elsewhere"}}
    assert sweep.run_parameters(chosen, "smoke", ROOT, tmp_path / "x")["checkpoint_dir"] == "/elsewhere"
