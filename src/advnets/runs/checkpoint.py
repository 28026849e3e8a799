"""Checkpoints: one safetensors file per snapshot, written atomically, never pickled.

A checkpoint holds every tensor a run needs to continue exactly (both networks'
weights, the optimiser buffers, RNG states, the epoch's data order) and a JSON
document of the scalar state (step, epoch, schedule position, best score...) in
the safetensors header's metadata. safetensors stores raw tensor bytes only, so
loading a checkpoint can never execute code.

The metadata also records a SHA-256 of the checkpoint's contents (every tensor's
name, type, shape and bytes, and the JSON state), checked on every load: a
checkpoint altered on disk, even by one bit, is refused with a sentence naming
it. Checkpoints written before that record was kept load unchecked.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from advnets.files import atomic_write_bytes

FORMAT = "advnets-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, or not one of ours."""


def contents_sha256(tensors: dict[str, torch.Tensor], state: str) -> str:
    """SHA-256 of a checkpoint's contents: each tensor's name, type, shape and bytes, in name
    order, then its JSON ``state``."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name} {tensor.dtype} {list(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    digest.update(state.encode())
    return digest.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    meta: dict,
    previous: str | os.PathLike | None = None,
) -> Path:
    """Write ``tensors`` and the JSON-ready ``meta`` to ``path`` atomically, with the SHA-256
    of both; the checkpoint it replaces becomes ``previous``, if given."""
    payload = {name: t.detach().contiguous().cpu().clone() for name, t in tensors.items()}
    state = json.dumps(meta)
    header = {"format": FORMAT, "state": state, "sha256": contents_sha256(payload, state)}
    return atomic_write_bytes(path, save_safetensors(payload, metadata=header), previous)


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a readable safetensors checkpoint ({err}); advnets never unpickles files."
    )


def _metadata(path: Path, header: bytes) -> dict[str, str]:
    """The metadata of a safetensors header, checked to be an advnets checkpoint's."""
    try:
        metadata = json.loads(header).get("__metadata__", {})
    except (ValueError, UnicodeDecodeError, AttributeError) as err:
        raise _unreadable(path, err) from err
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an advnets checkpoint (format {FORMAT} expected).")
    return metadata


def _state(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    """The scalar state stored in a checkpoint's metadata."""
    try:
        return json.loads(metadata["state"])
    except (KeyError, ValueError) as err:
        raise _unreadable(path, err) from err


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` and check its SHA-256; raise
    CheckpointError if it is not one, or not as it was written."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    data = path.read_bytes()
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError) as err:
        raise _unreadable(path, err) from err
    header_len = int.from_bytes(data[:8], "little")
    metadata = _metadata(path, data[8 : 8 + header_len])
    recorded = metadata.get("sha256")
    if recorded is not None and contents_sha256(tensors, metadata.get("state", "")) != recorded:
        raise CheckpointError(
            f"{path} is damaged: its contents no longer match the SHA-256 recorded when it "
            "was written."
        )
    return tensors, _state(path, metadata)


def load_newest(
    paths: Sequence[Path],
) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any], list[CheckpointError]]:
    """The newest (by step; the first given on a tie) of ``paths`` that loads and verifies,
    with its tensors and metadata, and the errors of the damaged ones skipped on the way.

    Raises CheckpointError, naming every damaged file, if none of them verifies."""
    damaged: list[CheckpointError] = []
    steps: dict[Path, int] = {}
    for path in paths:
        try:
            steps[path] = read_state(path)["state"]["g_updates"]
        except (CheckpointError, KeyError, TypeError) as err:
            damaged.append(err if isinstance(err, CheckpointError) else _unreadable(path, err))
    for path in sorted(steps, key=lambda p: -steps[p]):
        try:
            return (path, *load_checkpoint(path), damaged)
        except CheckpointError as err:
            damaged.append(err)
    raise CheckpointError(
        "no checkpoint verifies: " + "; ".join(str(err).rstrip(".") for err in damaged) + "."
    )


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """The scalar state of a checkpoint from its header alone, without reading the tensors
    (nor checking its SHA-256: :func:`load_checkpoint` does)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    with path.open("rb") as file:
        header_len = int.from_bytes(file.read(8), "little")
        if not 0 < header_len <= path.stat().st_size - 8:
            raise _unreadable(path, ValueError(f"header length {header_len} out of range"))
        return _state(path, _metadata(path, file.read(header_len)))


def check_data(meta: dict[str, Any], data_sha256: str, source: str | os.PathLike) -> None:
    """Refuse a checkpoint (``meta`` of ``source``) trained on data other than ``data_sha256``."""
    if meta.get("data_sha256") != data_sha256:
        raise CheckpointError(
            f"{source} was trained on data with sha256 {meta.get('data_sha256')}, "
            f"but the data now have {data_sha256}."
        )


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict with every name prefixed by ``prefix.``."""
    return {f"{prefix}.{name}": t for name, t in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load the ``prefix.``-named tensors into ``module`` (strict: every weight must match)."""
    start = len(prefix) + 1
    state = {name[start:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"the checkpoint's '{prefix}' weights do not fit this model: {err}"
        ) from err


def optimizer_tensors(
    prefix: str, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's state dict into tensors (for safetensors) and JSON metadata."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in state_dict["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [  # hyperparameters held in device tensors (games.optim) saved as numbers
        {key: float(value) if torch.is_tensor(value) else value for key, value in group.items()}
        for group in state_dict["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer(
    prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    """Restore an optimiser saved by :func:`optimizer_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    start = len(prefix) + len(".state.")
    for name, value in tensors.items():
        if name.startswith(prefix + ".state."):
            index, key = name[start:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
