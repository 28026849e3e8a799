"""benchmarks/collapse_rate.py: a run counts as collapsed when D still wins at the epoch."""

from __future__ import annotations

import json

import pytest
from conftest import load_script

script = load_script("benchmarks/collapse_rate.py")


def write_run(folder, fakes: list[float]):
    """A run directory whose metrics hold two train records per epoch at these D(G(z))."""
    folder.mkdir()
    records = []
    for epoch, fake in enumerate(fakes, start=1):
        records += [{"kind": "train", "step": epoch, "epoch": epoch, "d_fake": fake}] * 2
        records.append({"kind": "valid_parzen", "step": epoch, "epoch": epoch, "ll": 10.0 * epoch})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_a_run_that_recovers_is_not_collapsed_and_one_where_d_still_wins_is(tmp_path):
    recovered = script.judge(write_run(tmp_path / "a", [0.05, 0.001, 0.2]), epoch=3)
    assert not recovered["collapsed"] and recovered["lowest"] == (2, 0.001)
    assert recovered["curve"] == [(1, 10.0), (2, 20.0), (3, 30.0)]
    lost = script.judge(write_run(tmp_path / "b", [0.05, 0.001, 0.004]), epoch=3)
    assert lost["collapsed"] and lost["at_epoch"] == pytest.approx(0.004)
    with pytest.raises(SystemExit, match="train it that far"):
        script.judge(tmp_path / "a", epoch=4)
