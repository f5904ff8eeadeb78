"""The atlas: many proteins explained in one run, one resumable file per protein.

:mod:`.inputs` reads the proteins (a multi-FASTA, a folder of structures, the shipped test split),
:mod:`.targets` turns a ``--targets`` specification into each protein's targets, and :mod:`.run`
explains them and writes ``proteins/<name>-<key>.npz``, keyed by the content that made it.
"""
