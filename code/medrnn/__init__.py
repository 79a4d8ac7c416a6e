"""medrnn: 『医療時系列のための RNN 入門』の本文で使うコード一式。

本書のすべてのリスティングはこのパッケージから取り込まれ、
すべての図と数値はこのパッケージを実行して得られる。
"""

import warnings

__version__ = "0.1.0"

# Captum・Opacus・Flower は tqdm.auto を読み込む。ipywidgets のない Jupyter
# では、そのとき英語の TqdmWarning(IProgress not found)が章の出力に出る
# (進捗は文字で表示されるので実害はない)。最初に 1 回だけ、その警告だけを
# 抑えて読み込んでおく(あとで読み込まれても、もう警告は出ない)。
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found")
    import tqdm.auto  # noqa: F401
