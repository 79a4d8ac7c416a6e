#!/usr/bin/env bash
# 本(HTML)のビルド時間を測る。リポジトリは汚さず、使い捨ての写しの中で測る。
#
#   bash scripts/measure_build.sh [--baseline COMMIT] [--json FILE] [--keep]
#
# 測るもの(今の作業ツリーは make html と同じ scripts/build_html.py で):
#   (0) baseline  : --baseline を付けたとき、そのコミットのクリーンビルド(そのコミットの
#                   README のコマンド jupyter-book build . --all -W -n --keep-going)。
#                   同じ機械・同じ .venv で続けて測り、(a) との比を出す。
#   (a) clean     : _build も実行キャッシュもない状態から。全章を実行し、警告はエラー。
#   (b) no-op     : 何も変えずにもう一度(make html をもう一度打ったとき)。
#   (c) prose-only: 1 つの章(既定 book/rnn.md。環境変数 CHAPTER で変更)の末尾に
#                   文を 1 つ足してから。コードセルは変わらないので実行はキャッシュから。
# 最後に時間と、(a) で各章の実行にかかった秒数(_build/exec_times.json)を表示する。
# (b)(c) で章が実行し直されていないこと(キャッシュが効いていること)も確かめる。
#
# --json FILE : 結果を JSON でも書く。 --keep : 使い捨ての写しを消さずに残す。
# 時間は機械の混み具合で揺れる。2 コアの機械では、ほかの重い処理を止めてから測ること。
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

JSON_OUT=""
KEEP=0
BASELINE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --json) JSON_OUT=$(realpath -m "$2"); shift 2 ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "知らない引数: $1" >&2; exit 2 ;;
    esac
done

CHAPTER=${CHAPTER:-book/rnn.md}
VENV=${VENV:-$REPO/.venv}
say() { printf '[measure_build] %s\n' "$*"; }
die() { printf '[measure_build] エラー: %s\n' "$*" >&2; exit 1; }
[ -x "$VENV/bin/jupyter-book" ] || die "$VENV/bin/jupyter-book がありません。先に make venv を実行してください"
[ -f "$CHAPTER" ] || die "$CHAPTER がありません"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/medrnn-measure.XXXXXX")
cleanup() { if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else say "写しを残しました: $WORK"; fi; }
trap cleanup EXIT

# 写し:git が追跡しているファイルと、.gitignore で除外されていない新しいファイル
mkdir -p "$WORK/current"
git -C "$REPO" ls-files -z --cached --others --exclude-standard |
    tar -C "$REPO" --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null |
    tar -xf - -C "$WORK/current"
rm -rf "$WORK/current/.venv" "$WORK/current/_build"
ln -s "$VENV" "$WORK/current/.venv"
if [ -n "$BASELINE" ]; then
    mkdir -p "$WORK/baseline"
    git -C "$REPO" archive "$BASELINE" | tar -xf - -C "$WORK/baseline"
    ln -s "$VENV" "$WORK/baseline/.venv"
fi

export MEDRNN_NUM_THREADS="${MEDRNN_NUM_THREADS:-1}"
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"

# build NAME DIR コマンド...: DIR でビルドして秒数を T_NAME に入れる。ログは $WORK/NAME.log
# パッケージは DIR/code のものを使う(.venv の編集可能インストールより先に PYTHONPATH を見る)
build() {
    local name=$1 dir=$2; shift 2
    local start end
    start=$(date +%s.%N)
    if ! (cd "$dir" && PYTHONPATH="$dir/code" "$@") > "$WORK/$name.log" 2>&1; then
        tail -40 "$WORK/$name.log" >&2
        die "($name) のビルドに失敗しました(ログ: $WORK/$name.log。--keep で残せます)"
    fi
    end=$(date +%s.%N)
    printf -v "T_$name" '%s' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    # 実行した章の数(myst-nb は "Executing notebook"、並列の前段は "[execute] 名前: 秒")
    printf -v "N_$name" '%d' "$(grep -c 'Executing notebook\|^\[execute\] [^ ]*\.md:' "$WORK/$name.log" || true)"
}

say "写し: $WORK(CPU $(nproc) コア、MEDRNN_NUM_THREADS=$MEDRNN_NUM_THREADS)"
if [ -n "$BASELINE" ]; then
    say "(0) $BASELINE のクリーンビルド…"
    build baseline "$WORK/baseline" .venv/bin/jupyter-book build . --all -W -n --keep-going
fi
say "(a) クリーンビルド(全章を実行)…"
build clean "$WORK/current" .venv/bin/python scripts/build_html.py
cp "$WORK/current/_build/exec_times.json" "$WORK/exec_times.clean.json"

say "(b) 何も変えずにもう一度…"
build noop "$WORK/current" .venv/bin/python scripts/build_html.py

say "(c) $CHAPTER の本文に 1 文足して…"
printf '\n計測のために足した 1 文です(scripts/measure_build.sh)。\n' >> "$WORK/current/$CHAPTER"
build prose "$WORK/current" .venv/bin/python scripts/build_html.py

[ "$N_noop" -eq 0 ] && [ "$N_prose" -eq 0 ] ||
    die "キャッシュが効かず、章が実行し直されました(no-op: $N_noop、本文だけ: $N_prose)"

echo
echo "ビルド時間(秒)"
if [ -n "$BASELINE" ]; then
    printf '  %-44s %7s 秒(実行した章 %d)\n' "(0) $BASELINE のクリーンビルド" "$T_baseline" "$N_baseline"
fi
printf '  %-44s %7s 秒(実行した章 %d)\n' "(a) クリーンビルド(キャッシュなし)" "$T_clean" "$N_clean"
if [ -n "$BASELINE" ]; then
    printf '  %-44s %7s\n' "    (a) ÷ (0)" "$(awk -v a="$T_clean" -v b="$T_baseline" 'BEGIN { printf "%.2f", a / b }')"
fi
printf '  %-44s %7s 秒(実行した章 %d)\n' "(b) 何も変えずにもう一度(make html)" "$T_noop" "$N_noop"
printf '  %-44s %7s 秒(実行した章 %d)\n' "(c) $CHAPTER の本文だけを変えて" "$T_prose" "$N_prose"
echo
echo "(a) で各章の実行にかかった秒数(_build/exec_times.json。章は並列に実行)"
"$VENV/bin/python" - "$WORK/exec_times.clean.json" <<'EOF'
import json, sys
times = json.load(open(sys.argv[1], encoding="utf-8"))
for doc, seconds in sorted(times.items(), key=lambda item: -item[1]):
    print(f"  {doc:24s} {seconds:7.1f} 秒")
print(f"  {'合計':22s} {sum(times.values()):7.1f} 秒")
EOF

if [ -n "$JSON_OUT" ]; then
    "$VENV/bin/python" - "$WORK/exec_times.clean.json" "$JSON_OUT" <<EOF
import json, sys
result = {
    "measured": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "cpu_count": $(nproc),
    "kernels": "MKL_ENABLE_INSTRUCTIONS=${MKL_ENABLE_INSTRUCTIONS:-(既定)} ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-(既定)}",
    "baseline": "$BASELINE" or None,
    "baseline_seconds": float("${T_baseline:-nan}"),
    "clean_seconds": $T_clean, "noop_seconds": $T_noop,
    "prose_only_seconds": $T_prose, "prose_only_chapter": "$CHAPTER",
    "exec_times_clean": json.load(open(sys.argv[1], encoding="utf-8")),
}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(result, f, ensure_ascii=False, indent=2)
    f.write("\n")
EOF
    say "JSON: $JSON_OUT"
fi
