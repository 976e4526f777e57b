#!/usr/bin/env bash
# npm run bench:torch-blas — Debian's torch runs its Linear layers on the system's libblas.so.3, which is the
# reference BLAS unless an optimized one is installed (~20× slower than OpenBLAS: not the peer a PyTorch user
# would have). This unpacks Debian's OpenBLAS (OpenMP build, the one that follows torch.set_num_threads)
# under ${XDG_CACHE_HOME:-~/.cache}/backprop-wasm-bench/openblas without installing anything (outside
# node_modules, which npm ci wipes); bench/peers/torch.mjs finds it there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${XDG_CACHE_HOME:-$HOME/.cache}/backprop-wasm-bench/openblas"
# `npm run bench` calls this first: nothing to do without torch, or when OpenBLAS is already unpacked
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench:torch-blas: /usr/bin/python3 has no torch; the bench runs without PyTorch rows"
  exit 0
fi
if [ -f "$dest/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3" ] && [ "${1:-}" != "--force" ]; then
  echo "bench:torch-blas: OpenBLAS already unpacked under $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libopenblas0-openmp)
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$tmp"/libopenblas0-openmp_*.deb "$dest"
ls "$dest"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
