"""Evaluation of trained generators (Goodfellow et al., 2014, Section 5)."""
