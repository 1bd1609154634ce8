# Sourced by setup.sh and bench-peers.sh: pick_python prints the first Python >= 3.11 found
# ($PYTHON first, then python3.13 ... python3), or says what is missing and fails.
pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Hearth needs Python 3.11 or newer; none was found (set PYTHON=/path/to/python3.11)." >&2
  return 1
}
