"""予測をどこまで信頼できるか: 根拠の帰属・不確かさ・較正・部分集団。

- :mod:`.explain`: Captum による帰属(統合勾配・遮蔽・GradientSHAP)と、
  モデルのパラメータを壊す健全性の検査。
- :mod:`.conformal`: 分割コンフォーマル予測の予測区間と、その被覆率。
- :mod:`.calibration`: 確率の較正(信頼性図・ECE・温度スケーリング)。
- :mod:`.subgroups`: 部分集団ごとの誤差と、その比較。
- :mod:`.plots`: この章の図。
"""
