#!/usr/bin/env bash
# Run cookie_chromium.mjs in real headless Chromium. Skips (77) without
# /usr/bin/chromium or node; installs npm playwright-core into the build
# directory (its own folder, so that it never races tests/web's install).
set -euo pipefail
build=${PLATEAU_BUILD_DIR:?}
[[ -x /usr/bin/chromium ]] || { echo "skip: /usr/bin/chromium is missing"; exit 77; }
command -v node >/dev/null || { echo "skip: node is missing"; exit 77; }
nm="$build/web-plugin-test"
if [[ ! -d $nm/node_modules/playwright-core ]]; then
    mkdir -p "$nm"
    (cd "$nm" && npm install --no-audit --no-fund --silent playwright-core@1 >/dev/null) ||
        { echo "cannot install playwright-core with npm"; exit 1; }
fi
NODE_PATH="$nm/node_modules" exec node --test "$(dirname "$0")/cookie_chromium.mjs"
