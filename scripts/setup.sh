#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine with Python 3.11:
# Debian packages (as root), then a project virtualenv in .venv with every Python dependency.
# Called by `make run` and `make test`; safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  postgresql            # tests run migrations and round-trips on a real PostgreSQL server
  indi-bin              # indiserver + INDI simulator drivers (device tests)
  chromium chromium-driver  # headless browser tests of the web pages
  libdbus-1-dev libglib2.0-dev pkg-config  # dbus-python, declared by the pyindi-client wheel
  kcat                  # alerts tests: an independent Kafka producer for the mock cluster
  astrometry.net        # pipeline: solve-field / build-astrometry-index (plate solving, offline)
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  aptlog=$(mktemp)
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
    tail -30 "$aptlog"; echo "setup: apt-get failed (log: $aptlog)"; exit 1
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# Re-install only when the requirements changed since the last successful set-up.
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv"
  piplog=$(mktemp)
  if ! { .venv/bin/python -m pip install -q --upgrade pip &&
         .venv/bin/python -m pip install -q -r requirements.txt &&
         .venv/bin/python -m pip install -q --no-deps -e . --config-settings editable_mode=compat
       } >"$piplog" 2>&1; then
    tail -30 "$piplog"; echo "setup: pip failed (log: $piplog)"; exit 1
  fi
  echo "$want" > "$stamp"
fi
