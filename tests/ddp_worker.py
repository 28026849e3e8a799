"""One rank of a multi-process training run for the tests, launched by torchrun:

    torchrun --nproc_per_node 2 tests/ddp_worker.py RUN_DIR [--resume] [KEY=VALUE ...]

It trains the tiny paper model of ``conftest.tiny_config`` on ``make_dataset()``.
"""

from __future__ import annotations

import sys

from conftest import make_dataset, tiny_config

from advnets.experiments.callbacks import training_callbacks
from advnets.runs.rundir import RunDir
from advnets.training import distributed
from advnets.training.loop import Trainer


def main(out: str, resume: bool, overrides: list[str]) -> None:
    config = tiny_config(*overrides)
    processes = distributed.start(config.training.device)
    dataset = make_dataset()
    run = RunDir(out)
    callbacks = training_callbacks(config, dataset) if processes.is_main else []
    trainer = Trainer(config, dataset, run, processes, callbacks)
    if resume:
        trainer.restore(run.checkpoint("last"))
    elif processes.is_main:
        run.create(config, dataset.sha256, dataset.source)
    processes.barrier()
    trainer.train()
    trainer.close()
    distributed.stop(processes)
    distributed.end_process(0)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(arguments[0], "--resume" in arguments, [a for a in arguments[1:] if a != "--resume"])
