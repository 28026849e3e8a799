"""The run directory: every file a run writes, and the rules for creating and resuming one.

RUN_DIR/
  config.yaml          the resolved, validated config
  run.json             seed, package and torch versions, data checksum and source
  metrics.jsonl        one JSON record per line (train, valid_parzen, valid_domain, epoch,
                       test_evaluation)
  checkpoints/         last.safetensors, the one it replaced (last.prev.safetensors),
                       best.safetensors
  samples/             a sample grid per epoch, latest.png
  curves.png           losses, D outputs and validation Parzen over training
  tensorboard/         TensorBoard events
  evaluation.json      the best checkpoint on the test set: the paper's Parzen protocol,
                       domain-feature metrics, the memorisation check
  evaluation-distances.npz  nearest-training-image distances of samples and test images
  figures/             Figure 2, Figure 3 (PNG and GIF), memorisation and class plots
  report.html          everything above in one self-contained page
  .lock                held by the one command writing into the run (see runlock)

config.yaml and run.json are checked whenever they are read: one that is empty, not
YAML or JSON, or not a valid record is refused with a sentence naming it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from advnets import __version__
from advnets.config import ConfigError, RunConfig, config_from_dict, parse_yaml
from advnets.files import atomic_write_text
from advnets.runs.runlock import LockHeld, RunLock

# Settings that may change when a run is resumed: they do not alter what is computed.
RESUMABLE_KEYS = {
    "training.epochs",
    "training.max_steps",
    "training.threads",
    "training.device",
    "training.checkpoint_every_steps",
    "training.checkpoint_every_epochs",
    "training.keep_every_epochs",
    "training.cuda_graphs",
    "evaluation.patience",
    "evaluation.domain_metrics",
    "data.data_dir",
    "data.download",
    "logging.progress",
    "logging.tensorboard",
    "logging.log_every_steps",
}


# What run.json records, and the type of each entry.
INFO_TYPES: dict[str, type | tuple[type, ...]] = {
    "seed": int,
    "advnets_version": str,
    "torch_version": str,
    "python": str,
    "data_sha256": str,
    "data_source": str,
    "created": str,
    "forked_from": (str, type(None)),
}


class RunDirError(RuntimeError):
    """A run directory that cannot be used as asked; nothing in it was changed."""


def _mapping(path: Path, values: Any) -> dict[str, Any]:
    """``values`` as read from ``path``, refused unless they are a non-empty mapping."""
    if not values:
        raise RunDirError(f"{path} is empty; advnets writes it whole, so it was emptied since.")
    if not isinstance(values, dict):
        raise RunDirError(
            f"{path} holds a {type(values).__name__} instead of the run's record (a mapping)."
        )
    return values


def _remove_empty_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (the deepest first) while they are empty: a folder that something
    was put into stays, with the folders above it."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def recipe(config: RunConfig) -> str:
    """A run's settings less its seed and the resumable ones, canonically: runs with equal
    recipes differ only in their seed (the unit Table 1 averages over)."""
    settings = _flatten(config.to_dict())
    kept = {k: v for k, v in settings.items() if k != "seed" and k not in RESUMABLE_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


class RunDir:
    """Paths inside one run directory."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.config_file = self.path / "config.yaml"
        self.info_file = self.path / "run.json"
        self.metrics = self.path / "metrics.jsonl"
        self.checkpoints = self.path / "checkpoints"
        self.samples = self.path / "samples"
        self.curves = self.path / "curves.png"
        self.tensorboard = self.path / "tensorboard"
        self.evaluation = self.path / "evaluation.json"
        self.distances = self.path / "evaluation-distances.npz"
        self.figures = self.path / "figures"
        self.report = self.path / "report.html"
        self.lock_file = self.path / ".lock"

    def checkpoint(self, name: str) -> Path:
        return self.checkpoints / f"{name}.safetensors"

    def saved_checkpoints(self) -> list[Path]:
        """The checkpoints this run holds, in the order a damaged one gives way to the next:
        last, the one it replaced (last.prev), best."""
        paths = (self.checkpoint(name) for name in ("last", "last.prev", "best"))
        return [path for path in paths if path.is_file()]

    def require(self) -> None:
        """Refuse a path that holds no run: no such directory, or no config.yaml in it."""
        if not self.path.is_dir():
            raise RunDirError(f"there is no run directory at {self.path}.")
        if not self.config_file.is_file():
            raise RunDirError(f"{self.path} is not a run directory (no config.yaml).")

    @contextmanager
    def writing(self, command: str, new: bool = False) -> Iterator[None]:
        """Hold this run's lock while ``command`` writes into it: refused at once, naming the
        process, while another command writes here. ``new``: the directory of a run about to
        be created, made if missing; a new run that ends with nothing in it but the lock (a
        command refused after taking it) leaves nothing behind: the lock file goes, and so do
        the folders this command made. Otherwise the directory must hold a run already."""
        made = self._missing_folders() if new else []
        lock = RunLock(self.lock_file)
        taken = False
        while not taken:  # again if a new run's lock file was removed before it was taken
            if new:
                self.path.mkdir(parents=True, exist_ok=True)
            else:
                self.require()
            try:
                taken = lock.acquire(command)
            except LockHeld as held:
                raise RunDirError(
                    f"{self.path} is being written by {held.holder or 'another process'}; one "
                    "command at a time may write into a run: wait for it to end, or stop it."
                ) from None
        try:
            yield
        finally:
            left_empty = new and self._holds_only_lock()
            lock.release(remove=left_empty)
            if left_empty:
                _remove_empty_folders(made)

    def _missing_folders(self) -> list[Path]:
        """This directory and those above it that do not exist yet, the deepest first."""
        missing = []
        for folder in (self.path, *self.path.parents):
            if folder.exists():
                break
            missing.append(folder)
        return missing

    def _holds_only_lock(self) -> bool:
        """Whether this directory holds its lock file and nothing else."""
        try:
            return [path.name for path in self.path.iterdir()] == [self.lock_file.name]
        except OSError:
            return False

    def has_run(self) -> bool:
        return self.config_file.exists() or self.checkpoint("last").exists()

    def ensure_new(self) -> None:
        """Refuse to start a new run where a run already lives."""
        if self.has_run():
            raise RunDirError(
                f"{self.path} already holds a run; "
                "continue it with --resume or choose another --out."
            )

    def create(
        self, config: RunConfig, data_sha256: str, data_source: str, forked_from: str | None = None
    ) -> None:
        """Start a new run here (refused if a run already lives in this directory)."""
        self.ensure_new()
        for folder in (self.checkpoints, self.samples):
            folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_file, config.to_yaml())
        info = {
            "seed": config.seed,
            "advnets_version": __version__,
            "torch_version": torch.__version__,
            "python": platform.python_version(),
            "data_sha256": data_sha256,
            "data_source": data_source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "forked_from": forked_from,
        }
        atomic_write_text(self.info_file, json.dumps(info, indent=2) + "\n")

    def load_config(self) -> RunConfig:
        """The resolved config this run was started with, checked (never read as defaults)."""
        if not self.config_file.is_file():
            raise RunDirError(f"{self.path} is not a run directory (no config.yaml).")
        try:
            values = parse_yaml(self.config_file.read_text(encoding="utf-8"), str(self.config_file))
        except UnicodeDecodeError as err:
            raise RunDirError(f"{self.config_file} is not a text file (not UTF-8).") from err
        except ConfigError as err:  # not YAML, or YAML with anchors and aliases
            raise RunDirError(str(err)) from err
        try:
            return config_from_dict(_mapping(self.config_file, values))
        except ConfigError as err:
            raise RunDirError(f"{self.config_file} is not a valid run config: {err}") from err

    def load_info(self) -> dict[str, Any]:
        """run.json (seed, versions, data checksum and source), checked; empty if missing."""
        if not self.info_file.is_file():
            return {}
        text = self.info_file.read_text(encoding="utf-8", errors="replace")
        try:
            info = _mapping(self.info_file, json.loads(text) if text.strip() else None)
        except ValueError as err:
            raise RunDirError(f"{self.info_file} is not valid JSON ({err}).") from err
        unknown = sorted(set(info) - INFO_TYPES.keys())
        if unknown:
            raise RunDirError(
                f"{self.info_file} has unknown entries {', '.join(map(repr, unknown))}; "
                f"run.json records {', '.join(INFO_TYPES)}."
            )
        wrong = [key for key, value in info.items() if not isinstance(value, INFO_TYPES[key])]
        if wrong:
            raise RunDirError(
                f"{self.info_file} has entries of the wrong type: {', '.join(wrong)}."
            )
        return info

    def _differences(self, config: RunConfig, allowed: Callable[[str], bool]) -> list[str]:
        """Settings (flattened keys) that differ from this run's config and are not ``allowed``."""
        saved = _flatten(self.load_config().to_dict())
        wanted = _flatten(config.to_dict())
        return [
            f"{k} ({saved.get(k)!r} -> {wanted.get(k)!r})"
            for k in sorted(saved.keys() | wanted.keys())
            if saved.get(k) != wanted.get(k) and not allowed(k)
        ]

    def check_resumable(self, config: RunConfig) -> None:
        """Refuse to resume with a config that changes what the run computes (a run that
        stopped before its first checkpoint resumes from the start)."""
        changed = self._differences(config, lambda key: key in RESUMABLE_KEYS)
        if changed:
            raise RunDirError(
                f"cannot resume {self.path}: the config differs in {', '.join(changed)}; only "
                f"{', '.join(sorted(RESUMABLE_KEYS))} may change on resume."
            )

    def check_forkable(self, config: RunConfig) -> None:
        """Refuse to fork this run into a config with another model or other data."""
        if not self.checkpoint("last").is_file():
            raise RunDirError(f"{self.path} has no checkpoints/last.safetensors to fork from.")
        changed = self._differences(
            config, lambda key: not key.startswith(("model.", "data.dataset", "data.train_subset"))
        )
        if changed:
            raise RunDirError(
                f"cannot fork {self.path}: the model or data differ in {', '.join(changed)}."
            )

    def update_config(self, config: RunConfig) -> None:
        """Record the (resumable) settings a resumed run continues with (see Trainer.resume)."""
        atomic_write_text(self.config_file, config.to_yaml())
