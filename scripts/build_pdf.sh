#!/usr/bin/env bash
# 本の PDF 版を作る(make pdf から呼ばれる)。
#
#   bash scripts/build_pdf.sh
#
# 1. TeX(upLaTeX・原ノ味フォント・latexmk など)がなければ apt-get で入れる
#    (root で動くか、パスワードなしの sudo が使えるとき)。
# 2. .venv の Jupyter Book で LaTeX を書き出し、latexmk で PDF にする。
#    章の実行結果は HTML と同じキャッシュ(_build/.jupyter_cache)から取る。
# 3. ログを調べ、LaTeX のエラー・字形のない文字・未解決の参照があれば失敗する。
#
# できあがり: _build/latex/book.pdf(ログ: _build/pdf-build.log)。ウェブ版があれば
# _build/html/book.pdf にも写す(ウェブ版のダウンロードのメニューとフッターがここを指す)
set -euo pipefail
cd "$(dirname "$0")/.."

JB=.venv/bin/jupyter-book
LATEX_DIR=_build/latex
PDF=$LATEX_DIR/book.pdf
LOG=_build/pdf-build.log
# 最小の構成(--no-install-recommends)。poppler-data は pdftotext が和文
# (Adobe-Japan1 の CID フォント)を文字に戻すのに要る(tests/book/test_pdf.py が使う)。
APT_PACKAGES=(texlive-lang-japanese texlive-latex-extra texlive-fonts-recommended
              tex-gyre latexmk poppler-utils poppler-data make)
# これらがそろっていれば TeX は入っているとみなす
NEEDED_COMMANDS=(uplatex dvipdfmx latexmk kpsewhich make pdffonts pdftotext pdfinfo)
NEEDED_TEX_FILES=(ujbook.cls pxchfon.sty pxjahyper.sty HaranoAjiMincho-Regular.otf
                  HaranoAjiGothic-Medium.otf tgtermes.sty tgheros.sty t1xtt.tfm
                  tabulary.sty fncychap.sty needspace.sty varwidth.sty
                  capt-of.sty framed.sty wrapfig.sty upquote.sty titlesec.sty)

say() { printf '[build_pdf] %s\n' "$*"; }
die() { printf '[build_pdf] エラー: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/apt_install.sh
source "scripts/apt_install.sh"

missing_tex() {
    local item
    for item in "${NEEDED_COMMANDS[@]}"; do
        command -v "$item" >/dev/null 2>&1 || { echo "$item"; return 0; }
    done
    for item in "${NEEDED_TEX_FILES[@]}"; do
        kpsewhich "$item" >/dev/null 2>&1 || { echo "$item"; return 0; }
    done
    [ -e /usr/share/poppler/cidToUnicode/Adobe-Japan1 ] || { echo poppler-data; return 0; }
    return 1
}

install_tex() {
    apt_install "TeX Live(upLaTeX・pxchfon・原ノ味フォント・latexmk)と poppler-utils" \
        "${APT_PACKAGES[@]}"
}

if what=$(missing_tex); then
    say "見つからないもの: $what"
    install_tex
    if what=$(missing_tex); then
        die "TeX を入れたのに $what が見つかりません"
    fi
fi
[ -x "$JB" ] || die "$JB がありません。先に make venv を実行してください"

export MEDRNN_NUM_THREADS="${MEDRNN_NUM_THREADS:-1}"
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
# LaTeX は止まらずに最初のエラーで失敗させる(Sphinx の Makefile が latexmk に渡す)
export LATEXOPTS="-interaction=nonstopmode -halt-on-error -file-line-error"

mkdir -p _build
rm -rf "$LATEX_DIR"   # 古い aux や図が残らないよう毎回作り直す(数秒)
start=$(date +%s)
# キャッシュにない章は、コア数だけ並べて先に実行しておく(HTML を作った後なら何もしない)
.venv/bin/python scripts/execute_chapters.py || die "章の実行に失敗しました"
say "Jupyter Book で LaTeX → PDF(ログ: $LOG)"
if ! "$JB" build . --builder pdflatex --all -W -n --keep-going 2>&1 | tee "$LOG"; then
    if [ -f "$LATEX_DIR/book.log" ]; then
        say "LaTeX のエラー($LATEX_DIR/book.log より):"
        grep -n -A3 '^\(! \|.*:[0-9]*: \)' "$LATEX_DIR/book.log" | head -40 >&2 || true
    fi
    die "PDF のビルドに失敗しました(上のログと $LOG を見てください)"
fi
[ -s "$PDF" ] || die "$PDF ができていません"

# --- ログの検査 -------------------------------------------------------------
problems=0
# 欧文フォントにない文字(LaTeX のログ)
if grep -q 'Missing character' "$LATEX_DIR/book.log"; then
    say "フォントにない文字があります(欧文):"
    grep 'Missing character' "$LATEX_DIR/book.log" | sort | uniq -c >&2
    problems=1
fi
# 和文フォント(原ノ味 = Adobe-Japan1)にない文字は dvipdfmx が警告する。
# book/_ext/medrnn_latex.py の MISSING_GLYPHS に置き換えを足すか、文字を変える。
if grep -q 'No character mapping available' "$LOG"; then
    say "和文フォントにない文字があります(U+ の 16 進、途中で切れていることがあります):"
    grep -A2 'No character mapping available' "$LOG" | grep 'input str' | sort | uniq -c >&2
    problems=1
fi
# LaTeX の段階で解決できなかった参照・引用
if grep -q -E 'There were undefined references|Citation .* undefined|Reference .* undefined' \
        "$LATEX_DIR/book.log"; then
    say "未解決の参照があります:"
    grep -E "Citation .* undefined|Reference .* undefined" "$LATEX_DIR/book.log" | sort -u >&2 || true
    problems=1
fi
[ "$problems" -eq 0 ] || die "PDF はできましたが、上の問題を直してください"

pages=$(pdfinfo "$PDF" | awk '/^Pages:/ {print $2}')
unembedded=$(pdffonts "$PDF" | awk 'NR > 2 && $(NF-4) != "yes"' | wc -l)
[ "$unembedded" -eq 0 ] || { pdffonts "$PDF" >&2; die "埋め込まれていないフォントがあります"; }
say "できあがり: $PDF($pages ページ、$(du -k "$PDF" | cut -f1) KiB、$(( $(date +%s) - start )) 秒)"
# ウェブ版から「本全体の PDF」として配る(_build/html がある場合。book/_ext/medrnn_site.py)
if [ -d _build/html ]; then
    cp "$PDF" _build/html/book.pdf
    say "ウェブ版に置きました: _build/html/book.pdf"
fi
