"""パッケージのコードが変わったら、実行キャッシュを捨てて全章を読み直させる。

jupyter-cache はセルのソースだけをキーにするので、``code/medrnn`` の中身が
変わってもセルが同じなら古い出力を返してしまう。この拡張は、パッケージの
ソースのハッシュをキャッシュの横に記録し、違っていればキャッシュを消して
すべての章を「古い」と Sphinx に伝える。

キャッシュの記録は、章を先に並列で実行する scripts/execute_chapters.py も
書き換える。そのあとで Sphinx を動かすと、キャッシュの記録はもう新しいので、
それだけでは Sphinx の環境(前回読んだ章)が古いことが分からない。そこで
ハッシュを Sphinx の環境にも記録し、前回の読み込みのときと違えば全章を
読み直させる(そうしないと、本文を変えていない章のページに前回の出力が残る)。
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

STAMP_NAME = "medrnn_package.sha256"


def package_hash(package_dir: Path) -> str:
    """パッケージ内の全ファイル(.py と同梱データ。パスと中身)の SHA-256。"""
    digest = hashlib.sha256()
    files = (
        p
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for path in sorted(files):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def refresh_cache(cache_dir: Path, current: str) -> bool:
    """記録と current が違えばキャッシュを消して記録し直す。消したら True。"""
    stamp = cache_dir / STAMP_NAME
    if stamp.is_file() and stamp.read_text().strip() == current:
        return False
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True)
    stamp.write_text(current + "\n")
    return True


def _on_builder_inited(app) -> None:
    package_dir = Path(app.srcdir) / "code" / "medrnn"
    cache_dir = Path(
        app.config.nb_execution_cache_path
        or Path(app.outdir).parent / ".jupyter_cache"
    )
    app.medrnn_package_hash = package_hash(package_dir)
    app.medrnn_package_changed = refresh_cache(
        cache_dir, app.medrnn_package_hash
    )


def _on_env_get_outdated(app, env, added, changed, removed) -> list[str]:
    current = getattr(app, "medrnn_package_hash", None)
    read_with = getattr(env, "medrnn_package_hash", None)
    env.medrnn_package_hash = current  # 環境と一緒に保存される
    stale_env = read_with is not None and read_with != current
    if getattr(app, "medrnn_package_changed", False) or stale_env:
        return sorted(env.found_docs)
    return []


def setup(app) -> dict:
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
