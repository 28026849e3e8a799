"""Run directories and what they hold: checkpoints, logs, the writer's lock.

Below training and evaluation: training writes a run, evaluation and figures read it.
"""
