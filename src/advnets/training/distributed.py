"""Where training runs: the device, and the processes of a multi-process run.

One process (the default) trains on one device. Under ``torchrun`` every
process is a *rank* of one data-parallel run (PyTorch DistributedDataParallel):
each rank takes its slice of every minibatch, gradients are averaged across
ranks after each backward pass (gloo on CPU, NCCL on CUDA), so with a global
minibatch of m split into equal slices every update equals the single-process
update on all m examples, up to floating-point summation order. Rank 0 alone
writes logs, pictures and checkpoints.

    torchrun --nproc_per_node 2 -m advnets train mnist-paper --out runs/paper

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; this
module reads them and starts the process group.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist

from advnets.config import ConfigError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The device a ``training.device`` value names: ``cpu``, ``cuda`` or ``auto``.

    ``auto`` is CUDA when PyTorch sees a GPU, else the CPU. Under torchrun each
    process on a node takes GPU ``LOCAL_RANK``.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "training.device is cuda, but PyTorch sees no CUDA GPU on this machine "
                "(set it to cpu or auto: --device cpu, or --set training.device=cpu)."
            )
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"process {local_rank} on this node has no GPU of its own: "
                f"{torch.cuda.device_count()} visible; start at most that many per node."
            )
        return torch.device("cuda", local_rank)
    raise ConfigError(f"unknown device {name!r}; choose 'cpu', 'cuda' or 'auto'.")


@dataclass
class Processes:
    """This process's place in the run: its rank among ``world_size`` and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global minibatch (ranks in order)."""
        size = len(batch) // self.world_size
        return batch[self.rank * size : (self.rank + 1) * size]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of ``values`` over all ranks (itself in a single process)."""
        if not self.distributed:
            return values
        total = values.detach().clone()
        dist.all_reduce(total)
        return total / self.world_size

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (a list of one in a single process)."""
        if not self.distributed:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


_joined = False  # whether this process has joined a process group (``start``)


def environment_rank() -> int:
    """This process's rank as torchrun set it (0 for a process torchrun did not start)."""
    return int(os.environ.get("RANK", "0"))


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device_name: str) -> Processes:
    """This process's place: from torchrun's environment (starting the process group), or
    a single process."""
    if not launched_by_torchrun():
        return Processes(device=resolve_device(device_name))
    rank, world_size = environment_rank(), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world_size)
    global _joined
    _joined = True
    return Processes(rank, world_size, local_rank, device)


def stop(processes: Processes) -> None:
    """Leave the process group (if this process joined one), all ranks together.

    Call it after ``Trainer.close``: DDP's reducer holds the group, and a group
    released only at interpreter exit can abort the process (gloo's threads). Only
    where every rank gets here: a rank that failed alone must not wait for the others."""
    if processes.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def end_process(code: int) -> None:
    """End a process that joined a multi-process run at once (``os._exit``), its output flushed.

    Its work is done and written by then, but the interpreter's own teardown can still
    abort it: a C++ thread of the process group's backend destroyed while running
    ("terminate called without an active exception", SIGABRT; seen here on about one
    launch in 30 on a loaded machine), which would turn a finished run into a failed
    one. Does nothing in a process that never joined a group."""
    if _joined:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
