# Sourced by scripts/run and scripts/test: makes sure uv (from PyPI) and the given Debian
# packages are there, then syncs the workspace. Uses the machine's own Python 3.11+.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_uv() {
  if command -v uv >/dev/null 2>&1; then UV=$(command -v uv); return 0; fi
  if [ -x .tools/bin/uv ]; then UV=$PWD/.tools/bin/uv; return 0; fi
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  echo "installing uv into .tools/ (from PyPI)" >&2
  python3 -m venv .tools
  .tools/bin/python -m pip install -q --disable-pip-version-check uv
  UV=$PWD/.tools/bin/uv
}

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11 or newer is needed (found $(python3 --version 2>&1))" >&2; exit 1; }
find_uv
export UV
# NIDAN_SYNC_GROUPS: extra dependency groups a script needs (scripts/test: the chart tests').
sync_args=()
for group in ${NIDAN_SYNC_GROUPS:-}; do sync_args+=(--group "$group"); done
"$UV" sync --locked --quiet "${sync_args[@]}"
