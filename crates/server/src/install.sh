#!/bin/sh
# Installs the Optralis agent from the server that served this script, as a systemd service:
#   curl -fsSL @SERVER@/install.sh | sudo sh -s -- --key oek_… [--label env=prod] [--update-key RWQ…]
# Options: --key KEY (required), --label KEY=VALUE (repeatable), --update-key KEY (a release
# key updates must be signed by, repeatable; none: updates are refused), --dry-run (download
# and verify, change nothing), --root DIR (install under DIR, start nothing).
set -eu

server='@SERVER@'
# The builds this server holds (an empty name: none for that architecture).
binary_x86_64='@BINARY_X86_64@'
sha256_x86_64='@SHA256_X86_64@'
binary_aarch64='@BINARY_AARCH64@'
sha256_aarch64='@SHA256_AARCH64@'

key=''
root=''
dry_run=0
labels=''
update_keys=''
while [ $# -gt 0 ]; do
    case "$1" in
        --key) key="${2:-}"; shift 2 ;;
        --label) labels="$labels --label ${2:-}"; shift 2 ;;
        --update-key) update_keys="$update_keys --update-key ${2:-}"; shift 2 ;;
        --root) root="${2:-}"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        *) echo "install.sh: unknown option $1 (see the top of this script)" >&2; exit 2 ;;
    esac
done
if [ -z "$key" ]; then
    echo "install.sh: --key oek_… is needed (the dashboard's Add machines page makes one)" >&2
    exit 2
fi

if [ "$(uname -s)" != Linux ]; then
    echo "install.sh: this script installs the Linux agent; this is $(uname -s)" >&2
    exit 1
fi
case "$(uname -m)" in
    x86_64 | amd64) binary="$binary_x86_64"; sha256="$sha256_x86_64" ;;
    aarch64 | arm64) binary="$binary_aarch64"; sha256="$sha256_aarch64" ;;
    *) binary='' ;;
esac
if [ -z "$binary" ]; then
    echo "install.sh: this server has no agent build for $(uname -m)" >&2
    exit 1
fi
if [ "$dry_run" = 0 ] && [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (… | sudo sh -s -- --key …)" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "Downloading $binary from $server"
if command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$tmp/optralis-agent" "$server/downloads/$binary"
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp/optralis-agent" "$server/downloads/$binary"
else
    echo "install.sh: neither curl nor wget is installed" >&2
    exit 1
fi
got="$(sha256sum "$tmp/optralis-agent" | cut -d ' ' -f 1)"
if [ "$got" != "$sha256" ]; then
    echo "install.sh: $binary has SHA-256 $got, the server lists $sha256: not installed" >&2
    exit 1
fi
chmod 0755 "$tmp/optralis-agent"
echo "Verified (SHA-256 $sha256)"

set -- install --server "$server" --enroll-key "$key"
if [ -n "$root" ]; then
    set -- "$@" --root "$root" --no-start
fi
if [ "$dry_run" = 1 ]; then
    echo "Dry run: would run optralis-agent install --server $server --enroll-key (hidden)${root:+ --root $root --no-start}$labels$update_keys"
    exit 0
fi
# Labels are key=value without spaces and release keys base64; optralis-agent checks them.
# shellcheck disable=SC2086
"$tmp/optralis-agent" "$@" $labels $update_keys
