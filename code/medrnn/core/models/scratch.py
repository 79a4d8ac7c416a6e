"""数式をそのまま書いた RNN・LSTM・GRU のセル(1 時刻分)と、系列を回すループ。

パラメータの名前・形状・並び順は PyTorch(``nn.RNNCell`` など)と同じにしてある。
そのため ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` の重みをそのまま写せば、
出力も勾配も一致する(tests/core/test_scratch.py で確かめている)。

記号の対応(本文の数式 ↔ PyTorch の名前):
``W_x*`` ↔ ``weight_ih``、``W_h*`` ↔ ``weight_hh``、
``b_x*`` ↔ ``bias_ih``、``b_h*`` ↔ ``bias_hh``。
LSTM の 4 つのゲートは i, f, g, o、GRU の 3 つは r, z, n の順に
縦に積まれている。
"""

from __future__ import annotations

import math

import torch
from torch import nn

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # LSTM だけ (h, c)


class ScratchCell(nn.Module):
    """3 種類のセルに共通する部分: パラメータの用意だけをする。

    Parameters
    ----------
    input_size : int
        入力 x_t の次元。
    hidden_size : int
        隠れ状態 h_t の次元 H。
    """

    num_chunks = 1  # 縦に積むゲートの数(RNN 1、LSTM 4、GRU 3)

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{name} は 1 以上の整数にしてください"
                    f"(受け取った値: {value!r})"
                )
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = self.num_chunks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        bound = 1 / math.sqrt(hidden_size)  # PyTorch と同じ一様分布の初期化
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)


class RNNCellScratch(ScratchCell):
    """エルマン型 RNN のセル。

    h_t = tanh(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)。
    """

    num_chunks = 1

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """1 時刻分を計算する。

        Parameters
        ----------
        x_t : torch.Tensor
            時刻 t の入力。形状 (batch, input_size)
        h_prev : torch.Tensor
            前の隠れ状態 h_{t-1}。形状 (batch, hidden_size)

        Returns
        -------
        torch.Tensor
            h_t。形状 (batch, hidden_size)
        """
        a = (
            x_t @ self.weight_ih.T
            + self.bias_ih  # W_xh x_t + b_xh
            + h_prev @ self.weight_hh.T
            + self.bias_hh
        )  # W_hh h_{t-1} + b_hh
        return torch.tanh(a)  # (B, H)


class LSTMCellScratch(ScratchCell):
    """LSTM のセル。ゲートは PyTorch の並び i, f, g, o で積まれている。"""

    num_chunks = 4

    def gates(
        self,
        x_t: torch.Tensor,
        h_prev: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        """入力ゲート i、忘却ゲート f、候補 g (= C̃_t)、出力ゲート o。

        各 (B, H)。
        """
        a = (
            x_t @ self.weight_ih.T
            + self.bias_ih
            + h_prev @ self.weight_hh.T
            + self.bias_hh
        )  # (B, 4H)
        a_i, a_f, a_g, a_o = a.chunk(4, dim=1)  # 4 つに切り分ける
        return (
            torch.sigmoid(a_i),
            torch.sigmoid(a_f),
            torch.tanh(a_g),
            torch.sigmoid(a_o),
        )

    def forward(
        self,
        x_t: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """state = (h_{t-1}, C_{t-1}) から (h_t, C_t) を計算する。

        Parameters
        ----------
        x_t : torch.Tensor
            時刻 t の入力。形状 (B, input_size)
        state : (torch.Tensor, torch.Tensor)
            (h_{t-1}, C_{t-1})。各 (B, H)

        Returns
        -------
        h_t, C_t : torch.Tensor
            各 (B, H)
        """
        h_prev, c_prev = state
        i, f, g, o = self.gates(x_t, h_prev)
        c_t = f * c_prev + i * g  # C_t = f ⊙ C_{t-1} + i ⊙ C̃_t
        h_t = o * torch.tanh(c_t)  # h_t = o ⊙ tanh(C_t)
        return h_t, c_t


class GRUCellScratch(ScratchCell):
    """GRU のセル(PyTorch の形)。ゲートは r, z, n の順に積まれている。"""

    num_chunks = 3

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """h_{t-1} から h_t を計算する。

        Parameters
        ----------
        x_t, h_prev : torch.Tensor
            時刻 t の入力 (B, input_size) と h_{t-1} (B, H)。

        Returns
        -------
        torch.Tensor
            h_t。形状 (B, H)
        """
        ax = x_t @ self.weight_ih.T + self.bias_ih  # (B, 3H)
        ah = h_prev @ self.weight_hh.T + self.bias_hh  # (B, 3H)
        ax_r, ax_z, ax_n = ax.chunk(3, dim=1)
        ah_r, ah_z, ah_n = ah.chunk(3, dim=1)
        r = torch.sigmoid(ax_r + ah_r)  # リセットゲート
        z = torch.sigmoid(ax_z + ah_z)  # 更新ゲート
        n = torch.tanh(ax_n + r * ah_n)  # 候補: r は行列積の「あと」に掛かる
        return (1 - z) * n + z * h_prev  # z が 1 に近いほど前の状態を保つ


CELLS = {"rnn": RNNCellScratch, "lstm": LSTMCellScratch, "gru": GRUCellScratch}


def run_cell(
    cell: ScratchCell, x: torch.Tensor, state: State
) -> tuple[torch.Tensor, State]:
    """セルを系列の先頭から最後まで 1 時刻ずつ回す。

    Parameters
    ----------
    cell : ScratchCell
        1 時刻分を計算するセル。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)
    state : Tensor or (Tensor, Tensor)
        初期状態。h_0(LSTM は (h_0, C_0))、各 (batch, hidden_size)

    Returns
    -------
    outputs, state
        各時刻の h_t(形状 (batch, seq_len, hidden_size))と最後の状態。
    """
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)  # 同じ重みを全時刻で使い回す
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs, dim=1), state  # (B, T, H)


class ScratchRecurrent(nn.Module):
    """スクラッチのセルを層の数だけ積んだもの(nn.RNN などと同じ入出力)。

    batch_first=True の ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` と同じく、
    ``(output, h_n)``(LSTM は ``(output, (h_n, c_n))``)を返す。
    ドロップアウトと双方向には対応しない。

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
        セルの種類。
    input_size : int
        入力 x_t の次元。
    hidden_size : int
        隠れ状態 h_t の次元 H。
    num_layers : int
        積む層の数 L。
    """

    def __init__(
        self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1
    ) -> None:
        super().__init__()
        if kind not in CELLS:
            raise ValueError(
                f"kind は {sorted(CELLS)} のどれかにしてください"
                f"(受け取った値: {kind!r})"
            )
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(
                "num_layers は 1 以上の整数にしてください"
                f"(受け取った値: {num_layers!r})"
            )
        self.kind, self.hidden_size = kind, hidden_size
        self.input_size, self.num_layers = input_size, num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.cells = nn.ModuleList(
            CELLS[kind](size, hidden_size) for size in sizes
        )

    def forward(
        self, x: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """x: 形状 (batch, seq_len, input_size)。

        state の各テンソルは (L, B, H)。
        """
        self._check_input(x)
        if state is None:
            state = self.zero_state(x.shape[0], x)
        finals = []
        for k, cell in enumerate(self.cells):
            layer_state = (
                (state[0][k], state[1][k]) if self.kind == "lstm" else state[k]
            )
            x, last = run_cell(cell, x, layer_state)  # 出力が次の層の入力
            finals.append(last)
        if self.kind == "lstm":
            return x, (
                torch.stack([h for h, _ in finals]),
                torch.stack([c for _, c in finals]),
            )  # (L, B, H) × 2
        return x, torch.stack(finals)  # (L, B, H)

    def zero_state(self, batch_size: int, like: torch.Tensor) -> State:
        """すべて 0 の初期状態(PyTorch の既定と同じ)。

        Parameters
        ----------
        batch_size : int
            バッチの大きさ B。
        like : torch.Tensor
            型とデバイスを合わせるテンソル。

        Returns
        -------
        State
            形状 (num_layers, B, hidden_size) の h(LSTM は (h, c) の組)。
        """
        h = like.new_zeros(self.num_layers, batch_size, self.hidden_size)
        return (h, h.clone()) if self.kind == "lstm" else h

    def _check_input(self, x: torch.Tensor) -> None:
        """入力が (batch, seq_len>=1, input_size) かを確かめる。"""
        if x.ndim != 3 or x.shape[-1] != self.input_size or x.shape[1] < 1:
            raise ValueError(
                "入力は形状 (batch, seq_len>=1, "
                f"{self.input_size}) にしてください"
                f"(受け取った形状: {tuple(x.shape)})"
            )


TORCH_KINDS = {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}


def from_torch(module: nn.RNN | nn.LSTM | nn.GRU) -> ScratchRecurrent:
    """PyTorch の再帰層と同じ大きさのスクラッチ版を作り、重みを写す。

    Parameters
    ----------
    module : nn.RNN, nn.LSTM or nn.GRU
        batch_first=True・単方向・バイアスあり・dropout=0 の層。

    Returns
    -------
    ScratchRecurrent
        同じ重み・型・デバイスのスクラッチ版。

    Raises
    ------
    ValueError
        写せない種類や設定の層のとき。
    """
    kind = TORCH_KINDS.get(type(module))
    if kind is None:
        raise ValueError(
            "nn.RNN・nn.LSTM・nn.GRU のどれかを渡してください"
            f"(受け取った型: {type(module).__name__})"
        )
    if (
        not module.batch_first
        or module.bidirectional
        or not module.bias
        or bool(getattr(module, "proj_size", 0))
        or module.dropout
        or getattr(module, "nonlinearity", "tanh") != "tanh"
    ):
        raise ValueError(
            "batch_first=True・単方向・バイアスあり・dropout=0"
            "(RNN は tanh)の層だけ写せます"
        )
    scratch = ScratchRecurrent(
        kind, module.input_size, module.hidden_size, module.num_layers
    )
    with torch.no_grad():
        for k, cell in enumerate(scratch.cells):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                source = getattr(module, f"{name}_l{k}")
                getattr(cell, name).copy_(source)
    weight = module.get_parameter("weight_ih_l0")
    return scratch.to(dtype=weight.dtype, device=weight.device)


def _flat_state(state: State) -> list[torch.Tensor]:
    """状態をテンソルのリストにする(LSTM は [h, c]、ほかは [h])。"""
    return list(state) if isinstance(state, tuple) else [state]


def _max_gap(pairs) -> float:
    """(a, b) の組すべてについての max |a - b|。"""
    return max(float((a - b).detach().abs().max()) for a, b in pairs)


def equality_gaps(
    module: nn.RNN | nn.LSTM | nn.GRU, x: torch.Tensor
) -> dict[str, float]:
    """PyTorch の層と、重みを写したスクラッチ版との差の最大値。

    同じ x を流して、出力と状態の総和を損失として逆伝播し、両者を比べる。

    Parameters
    ----------
    module : nn.RNN, nn.LSTM or nn.GRU
        比べる PyTorch の層(:func:`from_torch` が写せるもの)。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)

    Returns
    -------
    dict[str, float]
        "output"(出力の差の絶対値の最大)、"state"(最終状態の差)、
        "grad_relative"(全パラメータの勾配の差の、勾配の最大の大きさに
        対する比)。
    """
    scratch, results = from_torch(module), []
    for model in (module, scratch):
        model.zero_grad()
        output, state = model(x)
        (output.sum() + sum(s.sum() for s in _flat_state(state))).backward()
        results.append((output, _flat_state(state)))
    grads = [
        (getattr(cell, name).grad, getattr(module, f"{name}_l{k}").grad)
        for k, cell in enumerate(scratch.cells)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    (out_ref, st_ref), (out_scr, st_scr) = results
    largest = max(float(b.abs().max()) for _, b in grads)
    return {
        "output": _max_gap([(out_ref, out_scr)]),
        "state": _max_gap(zip(st_ref, st_scr)),
        "grad_relative": _max_gap(grads) / largest,
    }


def trace_lstm(
    model: ScratchRecurrent, x: torch.Tensor, layer: int = 0
) -> dict[str, torch.Tensor]:
    """LSTM の 1 つの層について、各時刻のゲートとセル状態を記録する。

    Parameters
    ----------
    model : ScratchRecurrent
        kind="lstm" のモデル。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)
    layer : int
        記録する層の番号(0 が入力に近い層)。

    Returns
    -------
    dict[str, torch.Tensor]
        "input"(i)、"forget"(f)、"candidate"(g)、"output"(o)、
        "cell"(C_t)、"hidden"(h_t)。どれも形状 (batch, seq_len, hidden_size)

    Raises
    ------
    ValueError
        LSTM でないか、layer が範囲外のとき。
    """
    if model.kind != "lstm":
        raise ValueError(
            f"LSTM のモデルを渡してください(受け取った種類: {model.kind})"
        )
    if not 0 <= layer < model.num_layers:
        raise ValueError(
            f"layer は 0〜{model.num_layers - 1} にしてください"
            f"(受け取った値: {layer})"
        )
    model._check_input(x)
    h = c = x.new_zeros(x.shape[0], model.hidden_size)
    for cell in model.cells[:layer]:  # 下の層を通して、この層の入力を作る
        assert isinstance(cell, LSTMCellScratch)  # kind == "lstm" を確かめた
        x, _ = run_cell(cell, x, (h, c))
    cell, names = (
        model.cells[layer],
        ("input", "forget", "candidate", "output"),
    )
    assert isinstance(cell, LSTMCellScratch)  # kind == "lstm" を確かめた
    record: dict[str, list[torch.Tensor]] = {}
    for t in range(x.shape[1]):
        gates = cell.gates(x[:, t], h)
        h, c = cell(x[:, t], (h, c))
        for name, value in zip(names + ("cell", "hidden"), gates + (c, h)):
            record.setdefault(name, []).append(value)
    return {
        name: torch.stack(values, dim=1) for name, values in record.items()
    }
