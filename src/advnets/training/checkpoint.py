"""Checkpoints: one safetensors file per snapshot, written atomically, never pickled.

A checkpoint holds every tensor a run needs to continue exactly (both networks'
weights, the optimiser buffers, RNG states, the epoch's data order) and a JSON
document of the scalar state (step, epoch, schedule position, best score...) in
the safetensors header's metadata. safetensors stores raw tensor bytes only, so
loading a checkpoint can never execute code.
"""

from __future__ import annotations

import json
import os
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


def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """Write ``tensors`` and the JSON-ready ``meta`` to ``path`` atomically."""
    payload = {name: t.detach().contiguous().cpu().clone() for name, t in tensors.items()}
    header = {"format": FORMAT, "state": json.dumps(meta)}
    return atomic_write_bytes(path, save_safetensors(payload, metadata=header))


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a readable safetensors checkpoint ({err}); advnets never unpickles files."
    )


def _state_from_header(path: Path, header: bytes) -> dict[str, Any]:
    """The scalar state stored in a safetensors header's metadata; checks the format."""
    try:
        metadata = json.loads(header).get("__metadata__", {})
    except (ValueError, UnicodeDecodeError, AttributeError) as err:
        raise _unreadable(path, err) from err
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an advnets checkpoint (format {FORMAT} expected).")
    return json.loads(metadata["state"])


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; raise CheckpointError if it is not."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    data = path.read_bytes()
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError) as err:
        raise _unreadable(path, err) from err
    header_len = int.from_bytes(data[:8], "little")
    return tensors, _state_from_header(path, data[8 : 8 + header_len])


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """The scalar state of a checkpoint from its header alone, without reading the tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.")
    with path.open("rb") as file:
        header_len = int.from_bytes(file.read(8), "little")
        if not 0 < header_len <= path.stat().st_size - 8:
            raise _unreadable(path, ValueError(f"header length {header_len} out of range"))
        return _state_from_header(path, file.read(header_len))


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
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


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
