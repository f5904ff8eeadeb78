"""MSA search: iterative profile search of a sequence database, written as an A3M over the query.

:func:`~foldlens.search.jackhmmer.search` runs jackhmmer in-process (pyhmmer) against a FASTA
database (:mod:`.database` says which, and its cheap digest); :mod:`.cache` keeps results by
(sequence, database digest, parameters).
"""
