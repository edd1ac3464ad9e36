#!/usr/bin/env bash
# Boots the test VM in one mode and waits until its daemons answer; safe to run again (a running VM of
# that mode that answers is kept). Modes: `docker` (overlay2 graph driver, plus rootful and rootless
# Podman) and `containerd` (Docker with the containerd image store). Every boot starts from the pristine
# disk (-snapshot). The guest's network is QEMU's user mode with restrict=on: nothing leaves the guest,
# and each service is one forwarded port on this machine's loopback. Writes the ports and the paths of
# the keys to RUN_DIR/state.env and prints RUN_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MODE="${1:-docker}"
case "$MODE" in docker | containerd) ;; *) echo "usage: boot.sh docker|containerd" >&2; exit 64 ;; esac
TOOLS_DIR="${XRAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/container-xray}"
RUN_DIR="$TOOLS_DIR/vm/run-$MODE"
BOOT_TIMEOUT="${XRAY_VM_BOOT_TIMEOUT:-420}"
log() { printf '[vm-%s] %s\n' "$MODE" "$*" >&2; }

IMAGE="$(bash "$HERE/build.sh")"

# A daemon call with a deadline: QEMU accepts a forwarded connection even when the guest is dead (a kernel
# panic), and the call would then wait for ever.
daemon_answers() { timeout 20 docker -H "tcp://127.0.0.1:$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
answers() {
  # shellcheck disable=SC1091
  [ -f "$RUN_DIR/state.env" ] && . "$RUN_DIR/state.env" &&
    [ "$XRAY_VM_IMAGE" = "$IMAGE" ] && kill -0 "$XRAY_VM_PID" 2>/dev/null &&
    ! grep -q 'Kernel panic' "$RUN_DIR/console.log" 2>/dev/null &&
    daemon_answers "$XRAY_VM_DOCKER_TCP"
}
if answers; then
  log "already running (pid $XRAY_VM_PID)"
  echo "$RUN_DIR"
  exit 0
fi
if [ -f "$RUN_DIR/console.log" ] && grep -q 'Kernel panic' "$RUN_DIR/console.log"; then
  log "the running guest's kernel panicked (its console says so); booting a new one:"
  grep -m1 -A3 -E 'Oops|BUG:' "$RUN_DIR/console.log" >&2 || true
fi
if [ -f "$RUN_DIR/qemu.pid" ]; then kill "$(cat "$RUN_DIR/qemu.pid")" 2>/dev/null || true; fi
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

# Five free loopback ports, asked of the kernel.
read -r P_TLS P_TCP P_PODMAN P_PODMAN_USER P_SSH < <(node -e '
  const net = require("net"); const out = []; let n = 5; const servers = [];
  for (let i = 0; i < 5; i++) { const s = net.createServer(); servers.push(s);
    s.listen(0, "127.0.0.1", () => { out.push(s.address().port); if (--n === 0) { console.log(out.join(" ")); servers.forEach((x) => x.close()); } }); }')

STORE=overlay2
[ "$MODE" = containerd ] && STORE=containerd
APPEND="root=/dev/vda rw console=ttyS0 net.ifnames=0 xray.mode=$STORE"
FWD="hostfwd=tcp:127.0.0.1:$P_TLS-:2376,hostfwd=tcp:127.0.0.1:$P_TCP-:2375,hostfwd=tcp:127.0.0.1:$P_PODMAN-:8888"
FWD="$FWD,hostfwd=tcp:127.0.0.1:$P_PODMAN_USER-:8889,hostfwd=tcp:127.0.0.1:$P_SSH-:22"
log "booting under QEMU (software emulation; about a minute or two)"
started=$(date +%s)
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 4096 -display none -daemonize \
  -pidfile "$RUN_DIR/qemu.pid" -serial "file:$RUN_DIR/console.log" \
  -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" -append "$APPEND" \
  -drive "file=$IMAGE/disk.img,if=virtio,format=raw" -snapshot \
  -nic "user,model=virtio-net-pci,restrict=on,$FWD"

deadline=$((started + BOOT_TIMEOUT))
until daemon_answers "$P_TCP" || [ "$(date +%s)" -ge "$deadline" ]; do sleep 1; done
if ! daemon_answers "$P_TCP"; then
  log "the guest's Docker did not answer within ${BOOT_TIMEOUT}s; the console says:"
  tail -n 40 "$RUN_DIR/console.log" >&2
  exit 1
fi
# Podman's services come up beside Docker; give them the same time.
for port in "$P_PODMAN" "$P_PODMAN_USER"; do
  for _ in $(seq 1 120); do
    timeout 20 docker -H "tcp://127.0.0.1:$port" version >/dev/null 2>&1 && break
    sleep 1
  done
done
printf '[127.0.0.1]:%s %s\n' "$P_SSH" "$(cut -d' ' -f1,2 "$IMAGE/keys/ssh_host_ed25519_key.pub")" >"$RUN_DIR/known_hosts"
cat >"$RUN_DIR/state.env" <<STATE
XRAY_VM_MODE=$MODE
XRAY_VM_IMAGE=$IMAGE
XRAY_VM_PID=$(cat "$RUN_DIR/qemu.pid")
XRAY_VM_DOCKER_TLS=$P_TLS
XRAY_VM_DOCKER_TCP=$P_TCP
XRAY_VM_PODMAN=$P_PODMAN
XRAY_VM_PODMAN_USER=$P_PODMAN_USER
XRAY_VM_SSH=$P_SSH
XRAY_VM_CERTS=$IMAGE/keys
XRAY_VM_SSH_KEY=$IMAGE/keys/id_ed25519
XRAY_VM_KNOWN_HOSTS=$RUN_DIR/known_hosts
XRAY_VM_BOOT_SECONDS=$(($(date +%s) - started))
STATE
log "up after $(($(date +%s) - started)) s: docker tcp $P_TCP, tls $P_TLS, podman $P_PODMAN, rootless podman $P_PODMAN_USER, ssh $P_SSH"
echo "$RUN_DIR"
