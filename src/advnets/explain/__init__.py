"""Explained by running it: one concept per module, its numbers computed and checked against
the library the models use, its pictures drawn (``advnets explain TOPIC``)."""
