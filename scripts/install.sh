#!/usr/bin/env bash
# Install bargein as a service on Raspberry Pi OS (64-bit). Idempotent: re-run to upgrade.
#
#   sudo scripts/install.sh              install or upgrade, enable and start the service
#   sudo scripts/install.sh --uninstall  remove the service, user, venv and code; keeps the
#                                        event log (/var/lib/bargein) and config (/etc/bargein)
#   sudo scripts/install.sh --uninstall --purge   ... and remove those too
#
# Options, in any order:
#   --root DIR     install into DIR instead of / (tests, staging): the code, venv, config,
#                  state, unit and the user/groups (DIR/etc/passwd and DIR/etc/group, which
#                  must exist) all go under DIR, the unit is enabled there and nothing is
#                  started. The venv's scripts name DIR in their paths, so the tree runs
#                  where it was made. System packages still go on this machine (the venv
#                  is built here).
#   --model-url URL --model-sha256 HEX
#                  fetch the Vosk model archive from URL (a mirror, an offline server)
#                  instead of the pinned upstream one
set -euo pipefail

USER_NAME=bargein
MODEL_NAME=vosk-model-small-en-us-0.15
APT_PACKAGES=(python3-venv python3-dev gcc pkg-config portaudio19-dev libsystemd-dev
              libasound2-plugins alsa-utils espeak-ng libspeexdsp1)
SRC="$(cd "$(dirname "$0")/.." && pwd)"
VALID_OPTIONS="--root DIR, --model-url URL, --model-sha256 HEX, --uninstall, --purge"

say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }

ROOT=/
MODEL_URL=""
MODEL_SHA256=""
UNINSTALL=no
PURGE=no

need_value() { (($# >= 2)) && [ -n "$2" ] || die "$1 needs a value (valid options: $VALID_OPTIONS)"; }

parse_args() {
    local arg
    while (($#)); do
        arg="$1"; shift
        case "$arg" in
            --root=*|--model-url=*|--model-sha256=*)  # --opt=VALUE: same as --opt VALUE
                set -- "${arg#*=}" "$@"; arg="${arg%%=*}" ;;
        esac
        case "$arg" in
            --root) need_value "$arg" "$@"; ROOT="$1"; shift ;;
            --model-url) need_value "$arg" "$@"; MODEL_URL="$1"; shift ;;
            --model-sha256) need_value "$arg" "$@"; MODEL_SHA256="$1"; shift ;;
            --uninstall) UNINSTALL=yes ;;
            --purge) PURGE=yes ;;
            -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
            *) die "unknown option $arg (valid options: $VALID_OPTIONS)" ;;
        esac
    done
    if [ "$PURGE" = yes ] && [ "$UNINSTALL" = no ]; then
        die "--purge only goes with --uninstall: $0 --uninstall --purge"
    fi
    if [ -n "$MODEL_URL" ] && [ -z "$MODEL_SHA256" ]; then
        die "--model-url needs --model-sha256 HEX (the archive's sha256sum)"
    fi
    if [ -n "$MODEL_SHA256" ] && [ -z "$MODEL_URL" ]; then
        die "--model-sha256 needs --model-url URL (the pinned model's sum is built in)"
    fi
    if [ -n "$MODEL_SHA256" ] && ! [[ "$MODEL_SHA256" =~ ^[0-9a-fA-F]{64}$ ]]; then
        die "--model-sha256 $MODEL_SHA256 is not 64 hex digits; use the output of sha256sum"
    fi
}

# R is the root as a path prefix: empty for /, so "$R/etc" is /etc on a live system.
set_paths() {
    [ -d "$ROOT" ] || die "--root $ROOT is not a directory; create it (mkdir -p $ROOT) or fix the path"
    R="$(cd "$ROOT" && pwd -P)"
    [ "$R" = / ] && R=""
    PREFIX="$R/opt/bargein"
    VENV="$PREFIX/venv"
    CONF_DIR="$R/etc/bargein"
    STATE_DIR="$R/var/lib/bargein"
    UNIT_DIR="$R/etc/systemd/system"
    UNIT="$UNIT_DIR/bargein.service"
    PASSWD="$R/etc/passwd"
    GROUP="$R/etc/group"
}

check_user_db() {
    local db
    for db in "$PASSWD" "$GROUP"; do
        # useradd --prefix edits these files but will not create them.
        [ -f "$db" ] || die "$db is missing; --root needs DIR/etc/passwd and DIR/etc/group (copy them from a system image, or write a root line into each)"
    done
}

# --- the root's user database, systemd --------------------------------------------------

# Run a shadow tool (useradd, groupadd, usermod, userdel, groupdel) on the root's files.
shadow_tool() {
    local tool="$1"; shift
    if [ -n "$R" ]; then "$tool" --prefix "$R" "$@"; else "$tool" "$@"; fi
}

# Read the root's files, not getent: getent (and id) answer for this machine.
has_user() { grep -q "^$1:" "$PASSWD"; }
has_group() { grep -q "^$1:" "$GROUP"; }
# "UID:GID" of a user in the root's passwd: chown by name would look it up on this machine.
ids_of() { awk -F: -v name="$1" '$1 == name { print $3 ":" $4 }' "$PASSWD"; }

systemctl_root() {
    if [ -n "$R" ]; then systemctl --root="$R" "$@"; else systemctl "$@"; fi
}

# Start and stop only on the live system, and only when systemd runs it (not in a
# container, chroot or image build, where systemctl enable still works offline).
systemd_running() { [ -z "$R" ] && [ -d /run/systemd/system ]; }

# --- install ---------------------------------------------------------------------------

install_packages() {
    local pkg missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] \
            || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        say "system packages present"
        return
    fi
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed; check the network and /etc/apt/sources.list"
    apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed; run it by hand to see why"
}

ensure_user() {
    local group own_group=(--user-group)
    # A bargein group left behind (by hand, or an old uninstall) becomes the user's group.
    has_group "$USER_NAME" && own_group=(--gid "$USER_NAME")
    if ! has_user "$USER_NAME"; then
        say "creating system user $USER_NAME"
        shadow_tool useradd --system "${own_group[@]}" --home-dir /var/lib/bargein \
            --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
    fi
    for group in audio gpio; do
        # The unit asks for both groups: make gpio where the OS has none (non-Pi boards).
        has_group "$group" || shadow_tool groupadd --system "$group"
    done
    shadow_tool usermod -aG audio,gpio "$USER_NAME"
}

copy_source() {
    if [ "$SRC" -ef "$PREFIX/src" ]; then  # run from the installed copy: it is the source
        return
    fi
    rm -rf "$PREFIX/src"
    mkdir -p "$PREFIX/src"
    tar -C "$SRC" -cf - --exclude=.venv --exclude=.git --exclude=demo-out \
        --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.egg-info' . \
        | tar -C "$PREFIX/src" -xf -
}

install_code() {
    say "installing the package into $VENV"
    mkdir -p "$PREFIX"
    copy_source
    # Debian's python3 (what python3-venv serves), not whichever python3 is first on PATH.
    [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # pip rebuilds and reinstalls a local directory even at the same version: an upgrade.
    "$VENV/bin/python" -m pip install -q "$PREFIX/src"
    cp "$PREFIX/src/README.md" "$PREFIX/README.md"
}

fetch_models() {
    local ids from=()
    ids="$(ids_of "$USER_NAME")"
    say "fetching models into $STATE_DIR/models"
    install -d -o "${ids%:*}" -g "${ids#*:}" -m 0750 "$STATE_DIR"
    if [ -n "$MODEL_URL" ]; then
        from=(--url "$MODEL_URL" --sha256 "$MODEL_SHA256" --name "$MODEL_NAME")
    fi
    "$VENV/bin/python" "$PREFIX/src/scripts/fetch-models" "${from[@]}" --dest "$STATE_DIR/models" \
        || die "no model (see above); run again to resume, or fetch from a mirror with --model-url URL --model-sha256 HEX"
    chown -R "$ids" "$STATE_DIR"
}

install_config() {
    install -d -m 0755 "$CONF_DIR"
    if [ -f "$CONF_DIR/config.toml" ]; then
        say "keeping existing $CONF_DIR/config.toml"
    else
        install -m 0644 "$PREFIX/src/systemd/config.example.toml" "$CONF_DIR/config.toml"
        say "wrote $CONF_DIR/config.toml (defaults; edit and: sudo systemctl reload bargein)"
    fi
    [ -f "$CONF_DIR/agent-api-key" ] || install -m 0600 /dev/null "$CONF_DIR/agent-api-key"
    [ -f "$CONF_DIR/ha-token" ] || install -m 0600 /dev/null "$CONF_DIR/ha-token"
    [ -f "$CONF_DIR/mqtt-password" ] || install -m 0600 /dev/null "$CONF_DIR/mqtt-password"
    "$VENV/bin/bargein" config --config "$CONF_DIR/config.toml"
}

install_unit() {
    install -d -m 0755 "$UNIT_DIR"
    install -m 0644 "$PREFIX/src/systemd/bargein.service" "$UNIT"
    if systemd_running; then
        say "enabling and starting the service"
        systemctl daemon-reload
        systemctl --quiet enable bargein.service
        systemctl restart bargein.service
        say "done: journalctl -u bargein -f   (check: $VENV/bin/bargein doctor)"
        return
    fi
    systemctl_root --quiet enable bargein.service
    if [ -n "$R" ]; then
        say "installed under $R: the unit is enabled there and starts when that system boots"
    else
        say "systemd is not running here: the unit is enabled and starts at boot"
    fi
}

install_all() {
    install_packages
    ensure_user
    install_code
    fetch_models
    install_config
    install_unit
}

# --- uninstall -------------------------------------------------------------------------

uninstall() {
    if [ -f "$UNIT" ]; then
        say "disabling the service"
        if systemd_running; then
            systemctl --quiet disable --now bargein.service
        else
            systemctl_root --quiet disable bargein.service
        fi
        rm -f "$UNIT"
        if systemd_running; then systemctl daemon-reload; fi
    fi
    rm -rf "$PREFIX"
    if has_user "$USER_NAME"; then
        shadow_tool userdel "$USER_NAME" \
            || die "userdel $USER_NAME failed; stop what runs as $USER_NAME and run --uninstall again"
    fi
    # userdel removes the user's own group only where login.defs says USERGROUPS_ENAB yes.
    if has_group "$USER_NAME"; then shadow_tool groupdel "$USER_NAME"; fi
    if [ "$PURGE" = yes ]; then
        say "purging $STATE_DIR and $CONF_DIR"
        rm -rf "$STATE_DIR" "$CONF_DIR"
    else
        say "kept $STATE_DIR (event log, models) and $CONF_DIR (config); --purge removes them"
    fi
    say "uninstalled"
}

parse_args "$@"
[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 $*"
command -v systemctl >/dev/null || die "systemctl not found; install systemd: apt-get install systemd"
set_paths
check_user_db
if [ "$UNINSTALL" = yes ]; then uninstall; else install_all; fi
