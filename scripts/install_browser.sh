#!/usr/bin/env bash
# ウェブ版のブラウザ検査(tests/book/test_site.py)に使う Chromium と日本語フォントを入れる。
#
#   bash scripts/install_browser.sh
#
# Debian/Ubuntu の chromium と fonts-noto-cjk を apt-get で入れる(root で動くか、
# パスワードなしの sudo が使えるとき)。すでにあれば何もしない(何度実行してもよい)。
set -euo pipefail

APT_PACKAGES=(chromium fonts-noto-cjk)

say() { printf '[install_browser] %s\n' "$*"; }
die() { printf '[install_browser] エラー: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/apt_install.sh
source "$(dirname "$0")/apt_install.sh"

have_chromium() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}
have_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && fc-list :lang=ja family | grep -qi 'noto.*cjk'
}

if have_chromium && have_cjk_font; then
    say "Chromium と日本語フォント(Noto CJK)はもう入っています: $(chromium --version 2>/dev/null || chromium-browser --version)"
    exit 0
fi

apt_install "Chromium と Noto CJK フォント" "${APT_PACKAGES[@]}"

have_chromium || die "chromium を入れたのに見つかりません"
have_cjk_font || die "fonts-noto-cjk を入れたのに、fc-list で日本語の Noto CJK フォントが見つかりません"
say "できあがり: $(chromium --version 2>/dev/null || chromium-browser --version)"
