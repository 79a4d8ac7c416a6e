"""本書のパッケージの核: どの章も使う共通部分。

- ``data``: データの生成・分割・標準化と、本書のすべての窓を作る窓の関数群
- ``models``: 再帰型モデル(PyTorch の部品の版と、数式から書いた版)と注意
- ``training``: 1 つの学習ループ(損失関数を受け取る)と ``train_and_predict``
- ``evaluation``: 予測・誤差の指標・単純な基準
- ``compare``・``claims``・``checks``: 対応のある比較の統計、本文の主張の検査、
  引数の検査
- ``plotting``・``notebook``・``repro``: 図の道具、章のノートブックの道具、
  再現性

核は領域(信号ごとの下位パッケージ)も章も import しない(tests/test_layers.py)。
"""
