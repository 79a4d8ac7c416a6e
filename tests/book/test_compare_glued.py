"""scripts/compare_glued.py(別のビルドとの判定の違いの一覧)のテスト。"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from compare_glued import is_qualitative_change  # noqa: E402


def test_verdict_keys_and_wording_changes_are_reported() -> None:
    assert is_qualitative_change("cgm_gru_ar_verdict", "'良い'", "'悪い'")
    assert is_qualitative_change("tru_cov_conf_12_dir", "'多い'", "'少ない'")
    assert is_qualitative_change("vit_dir_val", "'小さく'", "'大きく'")
    # 通った方法の名前の並びのように、数字を含まない言葉の違い
    assert is_qualitative_change("tru_pass_ecg", "'統合勾配・遮蔽'", "'遮蔽'")


def test_numbers_alone_are_not_reported_as_verdicts() -> None:
    assert not is_qualitative_change("cgm_rmse_gru", "18.21", "18.35")
    assert not is_qualitative_change("prv_dp_1_text", "'+1.46'", "'+1.17'")
