"""Work that training hands off at the end of each epoch, passed in from above.

Training knows nothing of Parzen estimates, classifiers or pictures: the command that
starts a run hands the trainer callbacks (``advnets.experiments.callbacks``) that score the
generator, draw its samples or plot curves. They run on the main process only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advnets.training.loop import Trainer


class Callback:
    """End-of-epoch work; each method does nothing unless overridden."""

    def evaluate(self, trainer: Trainer) -> bool:
        """Score or picture the generator after an epoch (before the epoch's record is written);
        True if the score improved, which makes this epoch's checkpoint the best."""
        return False

    def epoch_done(self, trainer: Trainer) -> None:
        """Anything after the epoch's record is written (snapshots, curves)."""
