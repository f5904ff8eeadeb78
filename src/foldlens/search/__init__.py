"""MSA search: iterative profile search of a sequence database, written as an A3M over the query.

:mod:`.database` says which database (and its cheap digest); a FASTA database is searched by
jackhmmer in-process (:mod:`.jackhmmer`, pyhmmer), an MMseqs2 database by MMseqs2 itself
(:mod:`.mmseqs`), an HH-suite database by hhblits (:mod:`.hhblits`); each hands its hits to
:func:`.result.assemble`, which filters them the same way; :mod:`.cache` keeps results by
(sequence, database digest, parameters, program).
"""
