#!/usr/bin/env bash
# Install bargein as a service on Raspberry Pi OS (64-bit). Idempotent: re-run to upgrade.
#
#   sudo scripts/install.sh              install or upgrade, enable and start the service
#   sudo scripts/install.sh --uninstall  remove the service, user, venv and code; keeps the
#                                        event log (/var/lib/bargein) and config (/etc/bargein)
#   sudo scripts/install.sh --uninstall --purge   ... and remove those too
set -euo pipefail

PREFIX=/opt/bargein
VENV="$PREFIX/venv"
CONF_DIR=/etc/bargein
STATE_DIR=/var/lib/bargein
UNIT=/etc/systemd/system/bargein.service
USER_NAME=bargein
SRC="$(cd "$(dirname "$0")/.." && pwd)"

say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 $*"

uninstall() {
    local purge="$1"
    say "stopping and disabling the service"
    systemctl disable --now bargein.service 2>/dev/null || true
    rm -f "$UNIT"
    systemctl daemon-reload
    rm -rf "$PREFIX"
    if id "$USER_NAME" >/dev/null 2>&1; then userdel "$USER_NAME" || true; fi
    if [ "$purge" = yes ]; then
        say "purging $STATE_DIR and $CONF_DIR"
        rm -rf "$STATE_DIR" "$CONF_DIR"
    else
        say "kept $STATE_DIR (event log, models) and $CONF_DIR (config); --purge removes them"
    fi
    say "uninstalled"
}

case "${1:-}" in
    --uninstall) uninstall "$([ "${2:-}" = --purge ] && echo yes || echo no)"; exit 0 ;;
    "") ;;
    *) die "unknown option $1 (use --uninstall [--purge])" ;;
esac

say "installing system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-venv python3-dev gcc pkg-config portaudio19-dev libsystemd-dev \
    libasound2-plugins alsa-utils espeak-ng libspeexdsp1 >/dev/null

if ! id "$USER_NAME" >/dev/null 2>&1; then
    say "creating system user $USER_NAME"
    useradd --system --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
for group in audio gpio; do
    # The unit asks for both groups: make gpio where the OS has none (non-Pi boards).
    getent group "$group" >/dev/null || groupadd --system "$group"
    usermod -aG "$group" "$USER_NAME"
done

say "installing the package into $VENV"
mkdir -p "$PREFIX"
rsync -a --delete --exclude .venv --exclude .git --exclude demo-out "$SRC/" "$PREFIX/src/" 2>/dev/null \
    || { rm -rf "$PREFIX/src"; cp -a "$SRC" "$PREFIX/src"; rm -rf "$PREFIX/src/.venv" "$PREFIX/src/.git"; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "$PREFIX/src"
cp "$PREFIX/src/README.md" "$PREFIX/README.md"

say "fetching models into $STATE_DIR/models"
install -d -o "$USER_NAME" -g "$USER_NAME" -m 0750 "$STATE_DIR"
"$VENV/bin/python" "$PREFIX/src/scripts/fetch-models" --dest "$STATE_DIR/models"
chown -R "$USER_NAME:$USER_NAME" "$STATE_DIR"

install -d -m 0755 "$CONF_DIR"
if [ -f "$CONF_DIR/config.toml" ]; then
    say "keeping existing $CONF_DIR/config.toml"
else
    install -m 0644 "$PREFIX/src/systemd/config.example.toml" "$CONF_DIR/config.toml"
    say "wrote $CONF_DIR/config.toml (defaults; edit and: sudo systemctl reload bargein)"
fi
[ -f "$CONF_DIR/agent-api-key" ] || install -m 0600 /dev/null "$CONF_DIR/agent-api-key"
"$VENV/bin/bargein" config --config "$CONF_DIR/config.toml"

say "installing and starting the service"
install -m 0644 "$PREFIX/src/systemd/bargein.service" "$UNIT"
systemctl daemon-reload
systemctl enable bargein.service >/dev/null
systemctl restart bargein.service
say "done: journalctl -u bargein -f   (check: $VENV/bin/bargein doctor)"
