#!/bin/sh
# Installs (or, with --uninstall, removes) the AzBackup engine and PowerShell module from this release
# archive. Copied into the archive by tools/package.mjs; README.txt beside it says the same in prose.
#
#   engine: PREFIX/bin/azbackup
#   module: PREFIX/share/powershell/Modules/AzBackup (its bin/azbackup is a link to the engine, so the
#           module always runs the engine of its own release, whatever else is on PATH)
#
# With the default prefix /usr/local both are where PowerShell 7 and the shell look by default
# (/usr/local/share/powershell/Modules is on pwsh's default PSModulePath on Linux).
# Errors name a stable code (AZB_INSTALL_...) and say what to do; exit 2 = usage, 1 = failure.
set -eu

prefix=/usr/local
action=install
here=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<'EOF'
Usage: install.sh [--prefix DIR] [--uninstall]

Installs the AzBackup engine to DIR/bin/azbackup and the PowerShell module to
DIR/share/powershell/Modules/AzBackup. DIR defaults to /usr/local, where the
shell and PowerShell 7 find both without further set-up.

  --prefix DIR   install under DIR (created if missing) instead of /usr/local
  --uninstall    remove what an earlier install.sh --prefix DIR put there
                 (registrations, policies, job history and vaults are kept)
  -h, --help     show this help
EOF
}

# fail CODE MESSAGE [HINT] [EXIT]
fail() {
  echo "install.sh: error $1: $2" >&2
  if [ -n "${3:-}" ]; then echo "install.sh: $3" >&2; fi
  exit "${4:-1}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix)
      [ $# -ge 2 ] && [ -n "$2" ] || fail AZB_INSTALL_USAGE "--prefix needs a folder" "Example: ./install.sh --prefix /opt/azbackup" 2
      prefix=$2; shift 2 ;;
    --prefix=*)
      prefix=${1#--prefix=}
      [ -n "$prefix" ] || fail AZB_INSTALL_USAGE "--prefix needs a folder" "Example: ./install.sh --prefix /opt/azbackup" 2
      shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail AZB_INSTALL_USAGE "unknown argument '$1'" "Run ./install.sh --help for the options." 2 ;;
  esac
done

case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
bindir="$prefix/bin"
moduledir="$prefix/share/powershell/Modules"
engine="$bindir/azbackup"
# The DSC v3 resource manifest: DSC finds *.dsc.resource.json files on PATH, so it sits beside the engine.
dsc_manifest="$bindir/azbackup.dsc.resource.json"
module="$moduledir/AzBackup"
# The module's link to the engine, relative so that the prefix can be moved or mounted elsewhere.
engine_link_target=../../../../../bin/azbackup

# An AzBackup module folder: holds AzBackup.psd1 with this module's GUID (never delete anything else).
is_azbackup_module() {
  [ -f "$1/AzBackup.psd1" ] && grep -q "6f0e3a52-7d1c-4b8e-9a57-2c4d8e1b9f30" "$1/AzBackup.psd1"
}

# AzBackup's DSC v3 resource manifest (never replace or delete another resource's).
is_azbackup_dsc_manifest() {
  [ -f "$1" ] && grep -q '"type": "AzBackup/MachineSetting"' "$1"
}

# An AzBackup engine: answers the version probe with a Version result.
is_azbackup_engine() {
  [ -f "$1" ] && [ -x "$1" ] && "$1" --version --json 2>/dev/null | grep -q '"kind":"Version"'
}

if [ "$action" = uninstall ]; then
  removed=0
  if [ -e "$module" ] || [ -L "$module" ]; then
    is_azbackup_module "$module" || fail AZB_INSTALL_CONFLICT "$module is not the AzBackup module; left as it is" "Remove it yourself if it is a leftover."
    rm -rf "$module" || fail AZB_INSTALL_DENIED "cannot remove $module" "Run as a user who can write $moduledir (root for /usr/local)."
    echo "removed $module"; removed=1
  fi
  if [ -e "$engine" ] || [ -L "$engine" ]; then
    is_azbackup_engine "$engine" || fail AZB_INSTALL_CONFLICT "$engine is not the AzBackup engine; left as it is" "Remove it yourself if it is a leftover."
    rm -f "$engine" || fail AZB_INSTALL_DENIED "cannot remove $engine" "Run as a user who can write $bindir (root for /usr/local)."
    echo "removed $engine"; removed=1
  fi
  if [ -e "$dsc_manifest" ] && is_azbackup_dsc_manifest "$dsc_manifest"; then
    rm -f "$dsc_manifest" || fail AZB_INSTALL_DENIED "cannot remove $dsc_manifest" "Run as a user who can write $bindir (root for /usr/local)."
    echo "removed $dsc_manifest"
  fi
  [ "$removed" = 1 ] || fail AZB_INSTALL_NOT_INSTALLED "AzBackup is not installed under $prefix (no $engine, no $module)" "Give the --prefix it was installed with."
  echo "AzBackup removed from $prefix. Registrations, policies and job history (/var/lib/azbackup for root) and vaults are kept;"
  echo "scheduled policies fail until AzBackup is installed again (remove them first with Remove-AzBackupPolicy if they should go)."
  exit 0
fi

# The archive must be complete and undamaged before anything is copied.
for part in SHA256SUMS bin/azbackup bin/azbackup.dsc.resource.json modules/AzBackup/AzBackup.psd1; do
  [ -f "$here/$part" ] || fail AZB_INSTALL_DAMAGED "this archive has no $part" "Download and unpack the release archive again."
done
command -v sha256sum >/dev/null 2>&1 || fail AZB_INSTALL_DAMAGED "sha256sum (coreutils) is needed to check the archive" "Install coreutils, then run install.sh again."
if ! (cd "$here" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1); then
  bad=$(cd "$here" && sha256sum --quiet -c SHA256SUMS 2>/dev/null | sed 's/: .*//' | head -5 | tr '\n' ' ')
  fail AZB_INSTALL_DAMAGED "the archive's files do not match SHA256SUMS (${bad:-unreadable list})" "Download and unpack the release archive again; nothing was installed."
fi

if [ -e "$module" ] || [ -L "$module" ]; then
  is_azbackup_module "$module" || fail AZB_INSTALL_CONFLICT "$module exists and is not the AzBackup module; nothing was installed" "Move it away, or choose another --prefix."
fi
if [ -e "$engine" ] && ! is_azbackup_engine "$engine"; then
  fail AZB_INSTALL_CONFLICT "$engine exists and is not the AzBackup engine; nothing was installed" "Move it away, or choose another --prefix."
fi

if [ -e "$dsc_manifest" ] && ! is_azbackup_dsc_manifest "$dsc_manifest"; then
  fail AZB_INSTALL_CONFLICT "$dsc_manifest exists and is not AzBackup's DSC resource manifest; nothing was installed" "Move it away, or choose another --prefix."
fi
mkdir -p "$bindir" "$moduledir" 2>/dev/null && [ -w "$bindir" ] && [ -w "$moduledir" ] ||
  fail AZB_INSTALL_DENIED "cannot write to $bindir and $moduledir" "Run as root (sudo ./install.sh), or choose a --prefix you can write."

# Copy beside the final place, then rename over it: a running engine keeps its old file, and an interrupted
# install leaves the previous version whole.
staged_engine="$bindir/.azbackup.new.$$"
staged_module="$moduledir/.AzBackup.new.$$"
staged_dsc="$bindir/.azbackup.dsc.resource.json.new.$$"
old_module="$moduledir/.AzBackup.old.$$"
trap 'rm -rf "$staged_engine" "$staged_module" "$staged_dsc"' EXIT
cp "$here/bin/azbackup" "$staged_engine" || fail AZB_INSTALL_DENIED "cannot copy the engine to $bindir" "Check the free space and permissions of $bindir."
chmod 0755 "$staged_engine"
cp "$here/bin/azbackup.dsc.resource.json" "$staged_dsc" || fail AZB_INSTALL_DENIED "cannot copy the DSC resource manifest to $bindir" "Check the free space and permissions of $bindir."
chmod 0644 "$staged_dsc"
cp -R "$here/modules/AzBackup" "$staged_module" || fail AZB_INSTALL_DENIED "cannot copy the module to $moduledir" "Check the free space and permissions of $moduledir."
chmod -R u=rwX,go=rX "$staged_module"
mkdir -p "$staged_module/bin"
ln -s "$engine_link_target" "$staged_module/bin/azbackup"

mv -f "$staged_engine" "$engine"
mv -f "$staged_dsc" "$dsc_manifest"
if [ -e "$module" ]; then mv "$module" "$old_module"; fi
mv "$staged_module" "$module"
rm -rf "$old_module"
trap - EXIT

version=$(sed -n "s/^ *ModuleVersion *= *'\(.*\)'.*/\1/p" "$module/AzBackup.psd1")
echo "AzBackup $version installed:"
echo "  engine  $engine"
echo "  module  $module"
echo "  dsc     $dsc_manifest (DSC v3 resource AzBackup/MachineSetting)"

case ":${PATH:-}:" in
  *":$bindir:"*) ;;
  *) echo "note: $bindir is not on PATH; add it (export PATH=\"$bindir:\$PATH\") to run azbackup by name." ;;
esac

# Would a new pwsh find the module? Ask pwsh itself for its default module path.
pwsh_path=$(command -v pwsh 2>/dev/null || true)
if [ -z "$pwsh_path" ]; then
  echo "note: PowerShell 7 (pwsh) was not found; the module needs PowerShell 7.2 or later."
  default_paths="/usr/local/share/powershell/Modules"
else
  default_paths=$(env -u PSModulePath "$pwsh_path" -NoProfile -NonInteractive -Command '$env:PSModulePath' 2>/dev/null || true)
fi
case ":$default_paths:" in
  *":$moduledir:"*) echo "Start PowerShell 7 and run: Import-Module AzBackup; Get-AzBackupEngine" ;;
  *)
    echo "note: $moduledir is not on PowerShell's default module path, so Import-Module AzBackup does not find it yet."
    echo "  For one session:  \$env:PSModulePath = \"$moduledir\" + [IO.Path]::PathSeparator + \$env:PSModulePath"
    echo "  For good, add that line to \$PROFILE.AllUsersAllHosts, or import by path: Import-Module $module/AzBackup.psd1"
    ;;
esac
echo "To remove: $here/install.sh --uninstall --prefix $prefix"
