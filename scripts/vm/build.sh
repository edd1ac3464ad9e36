#!/usr/bin/env bash
# Builds the test VM's disk once: a Debian 13 guest (kernel 6.12, systemd, cgroup v2) with Docker and
# Podman, TLS material for Docker's tcp endpoint, an ssh key pair and host key. The result lives under
# the tools cache in a directory named by the hash of this recipe (this script, scripts/vm/guest/ and scripts/vm/user/),
# so a change to the recipe builds a new image and an unchanged one is reused. Prints that directory.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOOLS_DIR="${XRAY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/container-xray}"
SUITE=trixie
log() { printf '[vm-build] %s\n' "$*" >&2; }

RECIPE="$( (cat "$HERE/build.sh"; find "$HERE/guest" "$HERE/user" -type f | sort | xargs cat) | sha256sum | cut -c1-16)"
OUT="$TOOLS_DIR/vm/$RECIPE"
if [ -f "$OUT/ready" ]; then
  echo "$OUT"
  exit 0
fi

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Debian mirror this machine's apt already uses.
MIRROR="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1)"
[ -n "$MIRROR" ] || MIRROR="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
[ -n "$MIRROR" ] || { log "no Debian mirror found in the apt sources"; exit 1; }

WORK="$TOOLS_DIR/vm/.build-$RECIPE"
rm -rf "$WORK"
mkdir -p "$WORK"
ROOT="$WORK/rootfs"
log "debootstrap $SUITE into $ROOT (a few minutes)"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,udev,dbus,dbus-user-session,libpam-systemd,docker.io,docker-cli,podman,iproute2,kmod,linux-image-cloud-amd64,ca-certificates,procps,util-linux,openssh-server,socat,busybox-static,containernetworking-plugins,uidmap,slirp4netns,passt,fuse-overlayfs,nftables,catatonit \
  "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }

log "configuring the guest"
cp -a "$HERE/guest/." "$ROOT/"
chmod 0755 "$ROOT"/usr/local/sbin/*
echo xray-vm >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 xray-vm\n' >"$ROOT/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$ROOT/etc/fstab"
chroot "$ROOT" passwd -d root >/dev/null
# A rootless Podman user (for the rootless mode), with subordinate ids.
chroot "$ROOT" useradd -m -u 1000 -s /bin/sh xray
printf 'xray:100000:65536\n' >"$ROOT/etc/subuid"
printf 'xray:100000:65536\n' >"$ROOT/etc/subgid"
mkdir -p "$ROOT/var/lib/systemd/linger" && touch "$ROOT/var/lib/systemd/linger/xray"
for unit in xray-net.service xray-podman.service xray-dockertcp.service; do
  ln -sf "/etc/systemd/system/$unit" "$ROOT/etc/systemd/system/multi-user.target.wants/$unit"
done
mkdir -p "$ROOT/home/xray/.config/systemd/user/default.target.wants"
ln -sf ../xray-podman-user.service "$ROOT/home/xray/.config/systemd/user/default.target.wants/xray-podman-user.service"
cp "$HERE/user/xray-podman-user.service" "$ROOT/home/xray/.config/systemd/user/xray-podman-user.service"
chroot "$ROOT" chown -R xray:xray /home/xray
# No getty on the serial console's login prompt noise, no apt timers in the tests' way.
rm -f "$ROOT/etc/systemd/system/timers.target.wants/"*

log "making keys and certificates"
KEYS="$WORK/keys"
mkdir -p "$KEYS"
(
  cd "$KEYS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=xray-test-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=xray-vm -keyout server-key.pem -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:xray-vm\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out server-cert.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=xray-client -keyout key.pem -out client.csr 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile client.ext -out cert.pem 2>/dev/null
  rm -f ./*.csr ./*.ext ./*.srl
  ssh-keygen -q -t ed25519 -N '' -C xray-vm-host -f ssh_host_ed25519_key
  ssh-keygen -q -t ed25519 -N '' -C xray-client -f id_ed25519
)
mkdir -p "$ROOT/etc/docker/tls" "$ROOT/root/.ssh"
cp "$KEYS/ca.pem" "$KEYS/server-cert.pem" "$KEYS/server-key.pem" "$ROOT/etc/docker/tls/"
rm -f "$ROOT"/etc/ssh/ssh_host_*
cp "$KEYS/ssh_host_ed25519_key" "$KEYS/ssh_host_ed25519_key.pub" "$ROOT/etc/ssh/"
chmod 600 "$ROOT/etc/ssh/ssh_host_ed25519_key"
cp "$KEYS/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"
chmod 700 "$ROOT/root/.ssh"
# The rootless Podman user takes the same key: a login over ssh is a session with its systemd user manager.
mkdir -p "$ROOT/home/xray/.ssh"
cp "$KEYS/id_ed25519.pub" "$ROOT/home/xray/.ssh/authorized_keys"
chmod 700 "$ROOT/home/xray/.ssh"
chown -R 1000:1000 "$ROOT/home/xray/.ssh"

log "making the disk image"
cp "$ROOT"/boot/vmlinuz-* "$WORK/vmlinuz"
cp "$ROOT"/boot/initrd.img-* "$WORK/initrd.img"
truncate -s 6G "$WORK/disk.img"
mkfs.ext4 -q -F -L xray-root -d "$ROOT" "$WORK/disk.img"
rm -rf "$ROOT"
touch "$WORK/ready"
rm -rf "$OUT"
mv "$WORK" "$OUT"
log "guest image ready in $OUT"
echo "$OUT"
