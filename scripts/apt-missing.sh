# Sourced by setup scripts. `apt_install_missing WHY PKG...` installs, with apt-get, only those
# of the Debian packages PKG... that are not installed yet, says which and why before it does,
# and fails (status 1, apt-get's output shown) when the install fails: a setup step that
# silently did nothing would turn into confusing skips or errors much later.
# Without root or apt-get it installs nothing and returns 2, so the caller decides what that means.
apt_missing() {
  local pkg status missing=()
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
  done
  echo "${missing[*]}"
}

apt_install_missing() {
  local why=$1; shift
  local missing log
  missing=$(apt_missing "$@")
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "==> Not installing $missing ($why): that needs root and apt-get"
    return 2
  fi
  echo "==> Installing with apt-get: $missing ($why)"
  log=$(mktemp)
  # shellcheck disable=SC2086 # $missing is a list of package names
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: apt-get could not install $missing (its output is above)" >&2
    return 1
  fi
  rm -f "$log"
}
