"""Training and evaluation data: chain sets from the ProMod3 export and training crops."""

from .chains import Chain, ChainSet

__all__ = ["Chain", "ChainSet"]
