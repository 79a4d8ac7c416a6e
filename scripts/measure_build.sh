#!/usr/bin/env bash
# 本(HTML)のビルド時間を測る。リポジトリは汚さず、使い捨ての写しの中で測る。
#
#   bash scripts/measure_build.sh [--json FILE] [--keep]
#
# 測るもの(どれも make html と同じ jupyter-book build . --all -W -n --keep-going):
#   (a) clean     : _build も実行キャッシュもない状態から。全章を実行し、警告はエラー。
#   (b) no-op     : 何も変えずにもう一度(make html をもう一度打ったとき)。
#                   参考に、--all を付けない Sphinx の差分ビルドの時間も測る。
#   (c) prose-only: 1 つの章(既定 book/rnn.md。環境変数 CHAPTER で変更)の末尾に
#                   文を 1 つ足してから。コードセルは変わらないので実行はキャッシュから。
# 最後に 3 つの時間と、(a) で各章の実行にかかった秒数(_build/exec_times.json)を表示する。
# (b)(c) で章が実行し直されていないこと(キャッシュが効いていること)も確かめる。
#
# --json FILE : 結果を JSON でも書く。 --keep : 使い捨ての写しを消さずに残す。
# 時間は機械の混み具合で揺れる。2 コアの機械では、ほかの重い処理を止めてから測ること。
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

JSON_OUT=""
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --json) JSON_OUT=$(realpath -m "$2"); shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
# (_build や .venv は入らない)。git がなければ _build と .venv を除いて全部。
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        tar -C "$REPO" --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null |
        tar -xf - -C "$WORK"
else
    tar -C "$REPO" --exclude=./.venv --exclude=./_build --exclude=./.git -cf - . | tar -xf - -C "$WORK"
fi
rm -rf "$WORK/.venv" "$WORK/_build"   # 写しに紛れ込んだもの(.venv がリンクのときなど)は捨てる
ln -s "$VENV" "$WORK/.venv"
cd "$WORK"

export MEDRNN_NUM_THREADS="${MEDRNN_NUM_THREADS:-1}"
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
BUILD=(.venv/bin/jupyter-book build . --all -W -n --keep-going)

# build NAME [jupyter-book の引数...]: ビルドして秒数を変数 T_NAME に入れる。ログは $WORK/NAME.log
build() {
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    if ! "$@" > "$WORK/$name.log" 2>&1; then
        tail -40 "$WORK/$name.log" >&2
        die "($name) のビルドに失敗しました(ログ: $WORK/$name.log。--keep で残せます)"
    fi
    end=$(date +%s.%N)
    printf -v "T_$name" '%s' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
    # 実行した章の数(myst-nb は実行すると "Executing notebook" と書く)
    printf -v "N_$name" '%d' "$(grep -c 'Executing notebook' "$WORK/$name.log" || true)"
}

say "写し: $WORK(CPU $(nproc) コア、MEDRNN_NUM_THREADS=$MEDRNN_NUM_THREADS)"
say "(a) クリーンビルド(全章を実行)…"
rm -rf _build
build clean "${BUILD[@]}"
cp _build/exec_times.json "$WORK/exec_times.clean.json"

say "(b) 何も変えずにもう一度…"
build noop "${BUILD[@]}"
build noop_incremental .venv/bin/jupyter-book build . -W -n --keep-going

say "(c) $CHAPTER の本文に 1 文足して…"
printf '\n計測のために足した 1 文です(scripts/measure_build.sh)。\n' >> "$CHAPTER"
build prose "${BUILD[@]}"

[ "$N_noop" -eq 0 ] && [ "$N_noop_incremental" -eq 0 ] && [ "$N_prose" -eq 0 ] ||
    die "キャッシュが効かず、章が実行し直されました(no-op: $N_noop, $N_noop_incremental、本文だけ: $N_prose)"

echo
echo "ビルド時間(秒、jupyter-book build . --all -W -n --keep-going)"
printf '  %-44s %7s 秒(実行した章 %d)\n' "(a) クリーンビルド(キャッシュなし)" "$T_clean" "$N_clean"
printf '  %-44s %7s 秒(実行した章 %d)\n' "(b) 何も変えずにもう一度(make html)" "$T_noop" "$N_noop"
printf '  %-44s %7s 秒\n' "    参考: --all なしの差分ビルド" "$T_noop_incremental"
printf '  %-44s %7s 秒(実行した章 %d)\n' "(c) $CHAPTER の本文だけを変えて" "$T_prose" "$N_prose"
echo
echo "(a) で各章の実行にかかった秒数(_build/exec_times.json)"
.venv/bin/python - "$WORK/exec_times.clean.json" <<'EOF'
import json, sys
times = json.load(open(sys.argv[1], encoding="utf-8"))
for doc, seconds in sorted(times.items(), key=lambda item: -item[1]):
    print(f"  {doc:24s} {seconds:7.1f} 秒")
print(f"  {'合計':22s} {sum(times.values()):7.1f} 秒")
EOF

if [ -n "$JSON_OUT" ]; then
    .venv/bin/python - "$WORK/exec_times.clean.json" "$JSON_OUT" <<EOF
import json, sys
result = {
    "cpu_count": $(nproc),
    "clean_seconds": $T_clean, "noop_seconds": $T_noop,
    "noop_incremental_seconds": $T_noop_incremental, "prose_only_seconds": $T_prose,
    "prose_only_chapter": "$CHAPTER",
    "exec_times_clean": json.load(open(sys.argv[1], encoding="utf-8")),
}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(result, f, ensure_ascii=False, indent=2)
    f.write("\n")
EOF
    say "JSON: $JSON_OUT"
fi
