"""Experiments: what commands assemble from the layers below (the callbacks training gets)."""
