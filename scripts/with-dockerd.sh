#!/usr/bin/env bash
# Runs a command against a real Docker Engine, then cleans up.
# - Reuses a reachable engine ($DOCKER_HOST, else /var/run/docker.sock).
# - Otherwise, as root, installs Debian's docker.io when missing and starts a private dockerd (vfs storage, no
#   iptables, no default bridge) under $DOCKERTEST_DIR, and stops it afterwards.
# Either way it imports the registry-free test images and exports:
#   DOCKER_HOST, DOCKERTEST_BUSYBOX_IMAGE, DOCKERTEST_CLOUDFLARED_IMAGE
# and, for a private daemon only, DOCKERTEST_DIR and DOCKERTEST_DOCKERD_ARGS (to restart it from a spec).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
D=${DOCKERTEST_DIR:-/tmp/dockflare-dockertest}
started=""

ping_engine() { node "$here/docker-ping.mjs" "$1"; }

stop_private() {
  [ -n "$started" ] || return 0
  local pid; pid=$(cat "$D/docker.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    docker ps -aq --filter label=dockflare-test 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker ps -aq --filter name=dockflare-agent-tunnel 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # A killed dockerd leaves its shims running; end them so the next run starts clean.
  pkill -f "containerd-shim-runc-v2.*$D" 2>/dev/null || true
}

start_private() {
  if [ "$(id -u)" != 0 ]; then
    echo "with-dockerd: no reachable Docker Engine and not root: set DOCKER_HOST to an engine" >&2
    exit 1
  fi
  if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! command -v docker-compose >/dev/null 2>&1; then
    echo "with-dockerd: installing docker.io, docker-compose and busybox-static from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io docker-compose busybox-static >/dev/null
  fi
  mkdir -p "$D"
  # A daemon left over from an interrupted run holds the socket: stop it first.
  if [ -f "$D/docker.pid" ] && kill -0 "$(cat "$D/docker.pid")" 2>/dev/null; then
    kill -TERM "$(cat "$D/docker.pid")"; sleep 2
  fi
  rm -f "$D/docker.sock"
  # Exported so that specs can restart this daemon (Docker-side specs: daemon restarted mid-stream).
  export DOCKERTEST_DOCKERD_ARGS="--host=unix://$D/docker.sock --data-root=$D/root --exec-root=$D/exec --pidfile=$D/docker.pid --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none"
  export DOCKERTEST_DIR="$D"
  # shellcheck disable=SC2086
  dockerd $DOCKERTEST_DOCKERD_ARGS >"$D/dockerd.log" 2>&1 &
  started=yes
  export DOCKER_HOST="unix://$D/docker.sock"
  for i in $(seq 1 300); do
    ping_engine "$DOCKER_HOST" && return 0
    sleep 0.1
  done
  tail -50 "$D/dockerd.log" >&2
  echo "with-dockerd: dockerd did not come up" >&2
  exit 1
}

import_images() {
  local busybox=/bin/busybox
  [ -x "$busybox" ] || busybox=$(command -v busybox)
  local R; R=$(mktemp -d)
  mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/usr/local/bin"; chmod 1777 "$R/tmp"
  cp "$busybox" "$R/bin/busybox"
  for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
  tar -C "$R" -cf - . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - local/busybox:1 >/dev/null
  cp "$here/../spec/fixtures/cloudflared-standin.sh" "$R/usr/local/bin/cloudflared"
  chmod 755 "$R/usr/local/bin/cloudflared"
  tar -C "$R" -cf - . | docker import -c 'ENTRYPOINT ["/usr/local/bin/cloudflared"]' -c 'CMD ["--version"]' \
    -c 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - local/cloudflared:stand-in >/dev/null
  rm -rf "$R"
  # Re-imports leave the previous images dangling in a reused data root; a shared engine's images are not ours.
  if [ "$private" = 1 ]; then docker image prune -f >/dev/null 2>&1 || true; fi
  export DOCKERTEST_BUSYBOX_IMAGE=local/busybox:1
  export DOCKERTEST_CLOUDFLARED_IMAGE=local/cloudflared:stand-in
}

# The specs and the demo create, replace and remove the one tunnel container name the agent uses: on an engine
# that runs a real agent, that would cut its tunnel. A shared engine with such a container is refused.
guard_shared_engine() {
  local found
  found=$(docker ps -a --filter 'name=^/dockflare-agent-tunnel$' --format '{{.ID}} {{.Status}}' 2>/dev/null || true)
  [ -z "$found" ] && return 0
  [ "${DOCKERTEST_ALLOW_SHARED_TUNNEL:-}" = 1 ] && return 0
  cat >&2 <<MSG
with-dockerd: the engine at $DOCKER_HOST has a container named dockflare-agent-tunnel ($found):
  a real agent's tunnel, or a leftover of an interrupted run. The specs and the demo would replace and remove it.
  Use another engine (as root, with DOCKER_HOST unset and no /var/run/docker.sock, a private one is started),
  remove the container if it is a leftover, or set DOCKERTEST_ALLOW_SHARED_TUNNEL=1 to go ahead anyway.
MSG
  exit 1
}

private=0
trap stop_private EXIT
if [ -n "${DOCKER_HOST:-}" ] && ping_engine "$DOCKER_HOST"; then
  echo "with-dockerd: using the engine at $DOCKER_HOST" >&2
elif [ -z "${DOCKER_HOST:-}" ] && ping_engine unix:///var/run/docker.sock; then
  export DOCKER_HOST=unix:///var/run/docker.sock
  echo "with-dockerd: using the engine at $DOCKER_HOST" >&2
else
  if [ "${DOCKERTEST_NO_PRIVATE:-}" = 1 ]; then
    # Set by a spec that runs this script inside a run of its own: a private engine here would share (and stop)
    # the outer run's DOCKERTEST_DIR.
    echo "with-dockerd: no engine answered, and DOCKERTEST_NO_PRIVATE=1 forbids starting one" >&2
    exit 1
  fi
  start_private
  private=1
  echo "with-dockerd: started a private dockerd at $DOCKER_HOST" >&2
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "with-dockerd: the docker client is missing (Debian package docker.io)" >&2
  exit 1
fi
[ "$private" = 1 ] || guard_shared_engine
import_images
"$@"
