"""第 1〜3 章の理論。

BPTT(bptt)、勾配(gradients)、長い遅れの課題(longlag)、
LSTM の形状(lstm_shapes)、サイン波の実験(experiments)。
"""
