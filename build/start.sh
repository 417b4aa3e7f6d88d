#!/usr/bin/env bash
# The first README command: install what is missing, build the UI, start the appliance on its
# embedded default and open the UI — in Electron where its binary exists, else print the URL.
set -euo pipefail
cd "$(dirname "$0")/.."

bash build/install-system-deps.sh
# npm's record of what it installed (node_modules/.package-lock.json) against what the lock asks
# for, package by package: file times say nothing in a second worktree or a copy of the checkout.
npm_installed() {
  node -e '
    const packages = (path) => JSON.parse(require("fs").readFileSync(path, "utf8")).packages;
    const wanted = packages("package-lock.json"), held = packages("node_modules/.package-lock.json");
    const missing = Object.entries(wanted).filter(([path, entry]) => path && !entry.optional && held[path]?.version !== entry.version);
    process.exit(missing.length === 0 ? 0 : 1);' 2>/dev/null
}
if ! npm_installed; then
  ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-}" npm ci --no-audit --no-fund
fi
npx vite build --config renderer/vite.config.ts --logLevel warn
# The tiny guest (the demo apps' base image; cached after the first build) and the box's
# hypervisor daemon. Without either the appliance still starts: a dry run, or no demo image.
bash build/tiny-guest.sh >/dev/null || echo "bivouac: the tiny guest image could not be built; the demo apps will say it is missing"
if [ -z "${BIVOUAC_LIBVIRT_URI:-}" ]; then
  bash build/libvirtd.sh >/dev/null || echo "bivouac: no system libvirt daemon; the appliance picks qemu:///session or a dry run"
fi

export BIVOUAC_DATA_DIR="${BIVOUAC_DATA_DIR:-$PWD/.data}"
export BIVOUAC_LOCAL_LISTEN="${BIVOUAC_LOCAL_LISTEN:-127.0.0.1:8080}"
url="http://${BIVOUAC_LOCAL_LISTEN}"

# Until an administrator exists, the UI on this machine creates one; another machine needs the
# one-time setup code printed here (the appliance prints the same code in its log).
if ! node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.exit(d.users.some((u) => u.role === "admin") ? 0 : 1)' "$BIVOUAC_DATA_DIR/bivouac.json" 2>/dev/null; then
  export BIVOUAC_SETUP_CODE="${BIVOUAC_SETUP_CODE:-$(node -e 'const c = require("crypto"), a = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; const g = () => Array.from({ length: 4 }, () => a[c.randomInt(a.length)]).join(""); console.log([g(), g(), g()].join("-"))')}"
  echo "bivouac: no administrator yet: create one in the UI on this machine, or from another machine with the setup code $BIVOUAC_SETUP_CODE"
fi

has_electron() { node -e "require('fs').accessSync(require('electron'))" 2>/dev/null; }
# npm does not run Electron's download script (package.json allowScripts); try it once, briefly.
has_electron || timeout 120 node node_modules/electron/install.js >/dev/null 2>&1 || true

if has_electron; then
  # The shell's main and preload are bundled (dist-electron/); Electron cannot load the sources.
  npm run --silent build:appliance
  npm run --silent build:electron
  echo "bivouac: opening the UI in Electron (it starts the appliance as its child process)"
  exec npx electron . "$@"
fi

echo "bivouac: no Electron binary on this machine (its download needs GitHub, which is unreachable here),"
echo "bivouac: so the appliance runs headless. Open the UI in a browser: $url"
npm run --silent build:appliance
MALLOC_ARENA_MAX=2 LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=narenas:2,tcache:false,dirty_decay_ms:1000,muzzy_decay_ms:0 exec node --max-semi-space-size=1 dist/appliance/src/server.js
