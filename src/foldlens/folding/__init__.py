"""From predicted distograms to a 3D model with per-residue and per-pair confidence.

- :mod:`.distograms`: the network's four distance distributions of one protein;
- :mod:`.potential`: their negative log-likelihood as a function of coordinates, with bonded,
  angle and clash terms;
- :mod:`.geometry`: the backbone (N, Cα, C, O, Cβ) of rigid residues with ideal geometry;
- :mod:`.fold`: the optimisation (Cα, then the backbone, from several starts, mirror resolved);
- :mod:`.baselines`: what a model must beat (multidimensional scaling, an ideal helix, a coil);
- :mod:`.confidence`: PAE-like expected distance errors and a calibrated predicted lDDT;
- :mod:`.comparison`: superposition, TM-score and lDDT against a known structure.
"""
