"""The running means of a game's statistics between two train records, and the throughput."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from tqdm import tqdm

from advnets.games.base import Game
from advnets.runs.logs import MetricsLog, TensorBoardLog


class LogWindow:
    """Running means of the game's logged statistics between two log records, summed on the
    training device (no wait for it until a record is written) and averaged over ranks."""

    def __init__(
        self,
        game: Game,
        metrics: MetricsLog | None,
        board: TensorBoardLog,
        seconds_per_image_flop: float,
        device: torch.device | str = "cpu",
        mean_over_ranks: Callable[[torch.Tensor], torch.Tensor] = lambda sums: sums,
    ):
        self.game, self.metrics, self.board = game, metrics, board
        self.flop_seconds = seconds_per_image_flop  # FLOPs per image / GEMM FLOP/s
        self.mean_over_ranks = mean_over_ranks  # collective: every rank flushes together
        self.sums = torch.zeros(len(game.stat_names), device=device)
        self.reset()

    def restart_clock(self) -> None:
        self.start = time.perf_counter()

    def exclude(self, seconds: float) -> None:
        """Leave time spent outside training (evaluation, checkpoints) out of images/s."""
        self.start += seconds

    def add(self, stats: torch.Tensor, images: int) -> None:
        self.sums += stats
        self.count += 1
        self.images += images

    def flush(self, record: dict, bar: tqdm) -> None:
        """Write one train record (means, what the game derives from them, images/s, GEMM
        fraction) and reset; only reset where there is no log (ranks other than 0)."""
        sums = self.mean_over_ranks(self.sums)
        if self.metrics is None:
            self.reset()
            return
        names = self.game.stat_names
        means = dict(zip(names, (sums / self.count).tolist(), strict=True))
        rate = self.images / (time.perf_counter() - self.start)
        record.update(
            means,
            **self.game.summary(means),
            images_per_s=rate,
            gemm_fraction=rate * self.flop_seconds,
            time=time.time(),
        )
        self.metrics.write(record)
        self.board.scalars(
            record["step"], {f"train/{k}": record[k] for k in (*names, "lr", "images_per_s")}
        )
        bar.set_postfix(**self.game.progress(means), ips=f"{rate:.0f}")
        self.reset()

    def reset(self) -> None:
        """Start the next window."""
        self.sums.zero_()
        self.count = self.images = 0
        self.restart_clock()
