# Debian/Ubuntu のパッケージを apt-get で入れる関数(build_pdf.sh と install_browser.sh が source する)。
# 呼ぶ側で say と die を定義しておくこと。root でなければパスワードなしの sudo を使う。
#
#   apt_install "足りないときの説明" パッケージ...

apt_install() {
    local what="$1"
    shift
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo)
        else
            die "root で実行するか、次を入れてください: sudo apt-get install -y --no-install-recommends $*"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get がありません(Debian/Ubuntu 以外)。$what を入れてください"
    say "入れます: $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}
