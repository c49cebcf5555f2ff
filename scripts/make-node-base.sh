#!/usr/bin/env bash
# Makes a Node base image without a registry, for the image smoke test: this machine's own node and npm, the
# shared libraries node needs, busybox for a shell, the CA bundle (npm ci inside the build), and docker-init
# as /usr/bin/tini. Usage: make-node-base.sh TAG (needs DOCKER_HOST and the docker client).
set -euo pipefail
tag=${1:?usage: make-node-base.sh TAG}
node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=/bin/busybox; [ -x "$busybox" ] || busybox=$(command -v busybox)
init_bin=$(command -v docker-init || true)
R=$(mktemp -d)
chmod 755 "$R"
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/bin" "$R/usr/bin" "$R/usr/local/bin" "$R/usr/local/lib/node_modules" "$R/etc/ssl/certs" "$R/tmp" "$R/root" "$R/usr/sbin"
chmod 1777 "$R/tmp"
cp "$busybox" "$R/bin/busybox"
for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -s /bin/busybox "$R/bin/$a"; done
ln -s /bin/busybox "$R/usr/bin/env"
ln -s /bin/busybox "$R/usr/sbin/nologin" 2>/dev/null || true
cp "$node_bin" "$R/usr/local/bin/node"
for lib in $(ldd "$node_bin" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
  [ -f "$lib" ] || continue
  mkdir -p "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done
cp -r "$npm_dir" "$R/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
[ -n "$init_bin" ] && cp "$init_bin" "$R/usr/bin/tini"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"
tar -C "$R" -cf - . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' - "$tag" >/dev/null
echo "$tag"
