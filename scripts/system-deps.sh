#!/bin/sh
# Debian packages the tests talk to: real protocol peers (SIPp, GStreamer's RTSP server),
# a real browser (Chromium), what PDF reports need (Pango, a CJK font), and Node.js with npm
# to build the web UI (only when no npm is on the PATH: a Node.js from elsewhere is kept).
# Installs only what is missing; needs root (as on CI), otherwise says what to install.
set -eu
PACKAGES="
sip-tester
chromium
python3-gi
gir1.2-gst-rtsp-server-1.0
gstreamer1.0-plugins-base
gstreamer1.0-plugins-good
gstreamer1.0-plugins-ugly
gstreamer1.0-plugins-bad
gstreamer1.0-libav
libpango-1.0-0
libpangoft2-1.0-0
fonts-wqy-zenhei
"
missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing (as root: apt-get install$missing)" >&2
    exit 0
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
