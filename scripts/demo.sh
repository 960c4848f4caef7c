#!/usr/bin/env bash
# The main job on the bundled demo: install what is missing, build, create the two demo shops
# (demo/live.db, demo/staging.db), plan live -> staging, sync, and sync again (nothing to do).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
tether=build/tether

echo
echo "== tether demo init: a live shop and a drifted staging copy"
$tether demo init --dir demo
echo
echo "== tether check: config, connections, tables and columns"
$tether -c demo/tether.yaml check
echo
echo "== tether plan: what a sync would do (nothing is written)"
$tether -c demo/tether.yaml plan --limit 3
echo
echo "== tether sync: live -> staging"
$tether -c demo/tether.yaml sync
echo
echo "== tether sync again: nothing left to do"
$tether -c demo/tether.yaml sync
echo
echo "== tether runs"
$tether -c demo/tether.yaml runs
