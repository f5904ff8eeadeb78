"""The atlas: many proteins explained in one run, one resumable file per protein.

:mod:`.inputs` reads the proteins (a multi-FASTA, a folder of structures, the shipped test split),
:mod:`.targets` turns a ``--targets`` specification into each protein's targets, and :mod:`.run`
explains them and writes ``proteins/<name>-<key>.npz``, keyed by the content that made it.
"""

DEFAULT_TARGETS = "contacts:top=L/5:sep=24,ss3"
"""The ``--targets`` of a run that names none (here, not in :mod:`.targets`, so that the command
line can show it without importing torch)."""
