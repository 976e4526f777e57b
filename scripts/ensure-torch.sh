#!/usr/bin/env bash
# The PyTorch oracle tests (test/torch.test.ts) run real PyTorch: Debian's python3-torch, imported by
# /usr/bin/python3 (the python3 first on PATH may be another interpreter without it). Installs it when it
# is missing and this is a Debian machine where we may (root); otherwise says how.
set -euo pipefail
PYTHON=/usr/bin/python3
has_torch() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' >/dev/null 2>&1; }
if has_torch; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's python3-torch for the PyTorch oracle tests (apt-get)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
  if has_torch; then exit 0; fi
  echo "python3-torch was installed but $PYTHON still cannot import torch:" >&2
  "$PYTHON" -c 'import torch' >&2 || true
  exit 1
fi
echo "The PyTorch oracle tests need Debian's python3-torch (torch under $PYTHON): run 'sudo apt-get install -y python3-torch'." >&2
exit 1
