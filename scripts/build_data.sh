#!/usr/bin/env bash
# Rebuild data/promod3/{chains,splits}.npz from scratch.
#
# Source: ProMod3's structure database from Debian's promod3-data package
# (ProMod3 Apache-2.0; structures are PDB data, CC0; cite Studer et al.,
# PLoS Comput Biol 2021). See scripts/export_promod3.py and
# scripts/split_promod3.py for the output formats.
#
# Usage: scripts/build_data.sh [--force]
#   Installs python3-promod3, mmseqs2 and python3-numpy with apt if missing
#   (needs root), exports the chains (skipped if chains.npz exists unless
#   --force) and splits them by 30 % identity clusters (skipped if splits.npz
#   exists and the export was skipped).
# Environment: OUT (default data/promod3), PYTHON (default .venv/bin/python),
#   THREADS for mmseqs (default 1).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${OUT:-data/promod3}"
PYTHON="${PYTHON:-.venv/bin/python}"
THREADS="${THREADS:-1}"
PACKAGES=(python3-promod3 mmseqs2 python3-numpy)

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

if ! dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
fi

exported=0
if [[ $force == 1 || ! -f $OUT/chains.npz ]]; then
  /usr/bin/python3 scripts/export_promod3.py --out "$OUT"
  exported=1
else
  echo "skipping export: $OUT/chains.npz exists (use --force)" >&2
fi

if [[ $exported == 1 || ! -f $OUT/splits.npz ]]; then
  "$PYTHON" scripts/split_promod3.py --data "$OUT" --threads "$THREADS"
else
  echo "skipping split: $OUT/splits.npz exists (use --force)" >&2
fi
