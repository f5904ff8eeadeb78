"""The adapters of the models foldlens ships or knows: one file per model."""
