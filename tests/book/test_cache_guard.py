"""パッケージが変わったら実行キャッシュが捨てられ、全章が読み直されることの確認。"""

from pathlib import Path
from types import SimpleNamespace

from helpers import load_extension

ROOT = Path(__file__).resolve().parents[2]
guard = load_extension("medrnn_cache_guard")


def _app(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        srcdir=str(tmp_path),
        outdir=str(tmp_path / "_build" / "html"),
        config=SimpleNamespace(nb_execution_cache_path=""),
    )


def test_hash_changes_when_a_constant_changes(tmp_path):
    pkg = tmp_path / "code" / "medrnn"
    pkg.mkdir(parents=True)
    (pkg / "data.py").write_text("NOISE = 0.2\n")
    before = guard.package_hash(pkg)
    (pkg / "data.py").write_text("NOISE = 0.3\n")
    assert guard.package_hash(pkg) != before
    changed = guard.package_hash(pkg)
    (pkg / "datasets").mkdir()
    (pkg / "datasets" / "ecg.dat").write_bytes(b"\x00\x01")  # 同梱データも対象
    assert guard.package_hash(pkg) != changed
    assert guard.package_hash(ROOT / "code" / "medrnn") == guard.package_hash(
        ROOT / "code" / "medrnn"
    )


def test_changed_package_wipes_cache_and_marks_every_chapter_outdated(
    tmp_path,
):
    pkg = tmp_path / "code" / "medrnn"
    pkg.mkdir(parents=True)
    (pkg / "data.py").write_text("NOISE = 0.2\n")
    app = _app(tmp_path)
    env = SimpleNamespace(found_docs={"book/rnn", "book/lstm"})
    cache = tmp_path / "_build" / ".jupyter_cache"

    guard._on_builder_inited(app)  # 初回: キャッシュなし → 作る
    assert app.medrnn_package_changed
    (cache / "global.db").write_text("cached outputs")

    guard._on_builder_inited(app)  # 変更なし → キャッシュはそのまま
    assert not app.medrnn_package_changed
    assert (cache / "global.db").exists()
    assert guard._on_env_get_outdated(app, env, set(), set(), set()) == []

    (pkg / "data.py").write_text("NOISE = 0.3\n")  # 定数を変える
    guard._on_builder_inited(app)
    assert app.medrnn_package_changed
    assert not (cache / "global.db").exists()
    assert guard._on_env_get_outdated(app, env, set(), set(), set()) == [
        "book/lstm",
        "book/rnn",
    ]


def test_pages_are_reread_after_the_cache_was_refreshed_elsewhere(tmp_path):
    """章を先に実行するスクリプトがキャッシュの記録を新しくしたあとでも、
    Sphinx の環境が古いパッケージで読んだものなら、全章を読み直させる。
    """
    pkg = tmp_path / "code" / "medrnn"
    pkg.mkdir(parents=True)
    (pkg / "data.py").write_text("NOISE = 0.2\n")
    app = _app(tmp_path)
    env = SimpleNamespace(found_docs={"book/rnn", "book/lstm"})
    guard._on_builder_inited(app)
    guard._on_env_get_outdated(app, env, set(), set(), set())  # 1 回目の読込

    (pkg / "data.py").write_text("NOISE = 0.3\n")
    cache = tmp_path / "_build" / ".jupyter_cache"
    guard.refresh_cache(cache, guard.package_hash(pkg))  # 先に実行した側
    guard._on_builder_inited(app)
    assert not app.medrnn_package_changed  # キャッシュはもう新しい
    assert guard._on_env_get_outdated(app, env, set(), set(), set()) == [
        "book/lstm",
        "book/rnn",
    ]
    assert guard._on_env_get_outdated(app, env, set(), set(), set()) == []
