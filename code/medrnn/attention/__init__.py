"""注意機構の章の領域: 実験(tasks)と図(plots)。

式から書いた部品とモデルは核の :mod:`medrnn.core.models.attention` にある。
"""
