#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs and starts what the tests need (Docker engine,
# Chromium, code-server), installs the project, lints, then runs every test (unit, integration on the
# real engine, webview in Chromium, end-to-end in code-server). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
npm ci --no-audit --no-fund
npm run lint
npm test
