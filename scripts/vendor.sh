#!/usr/bin/env bash
# Refreshes the browser libraries committed under internal/web/static/vendor
# from the npm registry (npm pack: no install, no scripts run), so the Go
# build never needs Node. Pin versions here; review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=internal/web/static/vendor
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fetch() { # package@version, then pairs of "path-in-package destination"
  local pkg=$1; shift
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && mkdir -p "${pkg%@*}" && tar -xzf ./*.tgz -C "${pkg%@*}" && rm ./*.tgz)
  while [ $# -gt 0 ]; do install -D -m 0644 "$tmp/${pkg%@*}/package/$1" "$out/$2"; shift 2; done
}
fetch qrcode-generator@2.0.4 dist/qrcode.js qrcode-generator/qrcode.js
# The package ships no LICENSE file; its licence (MIT) is in the header of
# qrcode.js. Keep the full text beside it.
{ sed -n '/^\/\/ Copyright/p' "$out/qrcode-generator/qrcode.js" | sed 's|^// ||'; echo
  cat <<'MIT'
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
MIT
} >"$out/qrcode-generator/LICENSE"
fetch jsqr@1.4.0 dist/jsQR.js jsqr/jsQR.js LICENSE jsqr/LICENSE
# The brotli forms the server sends (NAME.br beside each file).
go generate ./internal/web/public
