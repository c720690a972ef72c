#!/usr/bin/env bash
# Makes (once) the Wine 10 that npm run test:win runs the Windows engine under: a Debian 13 (trixie) chroot
# made with debootstrap, with wine64 and a ready Wine prefix, cached in .tools/wine/trixie. Debian 12's
# Wine 8.0 cannot run Node 24 (V8 aborts in SegmentedTable::InitializeTable); trixie's Wine 10.0 can.
# Needs root (debootstrap, chroot, mounts), network access to deb.debian.org and about 1 GB of disk.
# A present, finished chroot (its .azb-ready marker) is reused; anything else fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# The real path: .tools may be a link, and /proc/self/mountinfo names real paths.
cache=$(realpath -m "$root/.tools/wine")
chroot_dir="$cache/trixie"
marker="$chroot_dir/.azb-ready"
mirror="${AZB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

fail() { printf 'wine-setup: %s\n' "$*" >&2; exit 1; }
say() { printf 'wine-setup: %s\n' "$*"; }

if [ -f "$marker" ]; then
  say "reusing $chroot_dir ($(cat "$marker"))"
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and chroot); the Windows smoke test cannot run without Wine 10"
command -v unshare >/dev/null || fail "unshare (util-linux) is required"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || fail "debootstrap is missing and there is no apt-get to install it"
  say "installing debootstrap"
  apt-get install -y --no-install-recommends debootstrap >/dev/null || fail "cannot install debootstrap (apt-get install debootstrap)"
fi

# A half-made chroot from an interrupted run is never reused. (Its binds live in private namespaces only;
# one visible here would make rm -rf reach the host's /proc or /dev.)
if grep -q " $chroot_dir/" /proc/self/mountinfo; then fail "something is mounted under $chroot_dir; unmount it first"; fi
rm -rf "$chroot_dir"
mkdir -p "$cache"
say "debootstrap trixie into $chroot_dir (about a minute)"
nice -n 19 debootstrap --variant=minbase trixie "$chroot_dir" "$mirror" >"$cache/debootstrap.log" 2>&1 \
  || fail "debootstrap failed; see $cache/debootstrap.log"

# Runs a command in the chroot with /proc and /dev bound in a private mount namespace: the mounts end with
# the command, so nothing is left mounted under .tools.
in_chroot() {
  unshare --mount --fork sh -c 'mount --rbind /proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$@"' \
    "$chroot_dir" "$chroot_dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}

say "installing wine64 in the chroot (about a minute)"
in_chroot sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive nice -n 19 apt-get install -y --no-install-recommends wine wine64' \
  >"$cache/apt.log" 2>&1 || fail "apt-get install wine wine64 in the chroot failed; see $cache/apt.log"
wine_version=$(in_chroot wine64 --version 2>/dev/null || in_chroot wine --version 2>/dev/null || true)
case "$wine_version" in
  wine-10.*) ;;
  *) fail "expected Wine 10 in the trixie chroot, got '${wine_version:-nothing}'" ;;
esac

# The Wine prefix (C:\ and the registry) is made once here; making it takes longer than the whole smoke test.
say "making the Wine prefix"
in_chroot sh -c 'mkdir -p /tmp/xdg && chmod 700 /tmp/xdg && XDG_RUNTIME_DIR=/tmp/xdg WINEDEBUG=-all WINEPREFIX=/root/.wine wineboot -i && XDG_RUNTIME_DIR=/tmp/xdg WINEPREFIX=/root/.wine wineserver -w' \
  >"$cache/wineboot.log" 2>&1 || fail "wineboot failed; see $cache/wineboot.log"
[ -f "$chroot_dir/root/.wine/system.reg" ] || fail "wineboot made no prefix; see $cache/wineboot.log"
rm -rf "$chroot_dir/var/cache/apt/archives"/*.deb
echo "$wine_version" >"$marker"
say "ready: $wine_version in $chroot_dir ($(du -sh "$chroot_dir" | cut -f1))"
