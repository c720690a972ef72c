#!/usr/bin/env bash
# Prints the path of PowerShell 7 (pwsh): on PATH, or where `dotnet tool install --global` puts it.
for candidate in "$(command -v pwsh 2>/dev/null)" "${DOTNET_TOOLS:-$HOME/.dotnet/tools}/pwsh"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
exit 1
