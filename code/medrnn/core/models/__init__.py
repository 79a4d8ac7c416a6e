"""モデル: PyTorch の部品を使う版(nets)と、数式から書いた版(scratch)。"""

from .nets import ModelConfig, RecurrentRegressor

__all__ = ["ModelConfig", "RecurrentRegressor"]
