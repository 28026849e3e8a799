"""Training is unchanged bit for bit: every preset's checkpoints, against a recorded fingerprint.

The record (tests/data/checkpoint_fingerprints.json, written by
scripts/checkpoint_fingerprint.py) holds SHA-256s of float results, which depend on the CPU
and the PyTorch build: it is compared exactly only on the machine it names. Everywhere the
properties that make such a record meaningful are checked instead: training twice gives the
same checkpoints, and a run stopped after an epoch and resumed ends where the uninterrupted
run ends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script

RECORD = Path(__file__).parent / "data" / "checkpoint_fingerprints.json"


script = load_script("scripts/checkpoint_fingerprint.py")


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict:
    return script.fingerprints(tmp_path_factory.mktemp("fingerprints"))


def test_every_preset_has_a_case():
    from advnets.config import preset_names

    assert set(preset_names()) <= {preset for preset, _ in script.CASES.values()}


def test_checkpoints_match_the_record_made_on_this_machine(measured):
    recorded = json.loads(RECORD.read_text())
    if recorded["machine"] != measured["machine"]:
        pytest.skip(f"the record was made on {recorded['machine']}, not this machine")
    assert script.differences(recorded["runs"], measured["runs"]) == []


def test_resumed_run_ends_where_the_uninterrupted_one_ends(measured):
    whole, resumed = measured["runs"][script.RESUMED], measured["runs"][f"{script.RESUMED}-resumed"]
    for name in ("last.safetensors", "best.safetensors"):
        assert resumed[name] == whole[name]


def test_training_twice_gives_the_same_checkpoints(measured, tmp_path):
    again = script.fingerprints(tmp_path, ["mnist-paper-k2-minimax", "toy-1d"])
    for case, checkpoints in again["runs"].items():
        assert checkpoints == measured["runs"][case]
