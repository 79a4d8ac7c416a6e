"""RNN の 1 ステップ・時間を通した誤差逆伝播(BPTT)・勾配の消失と爆発を
実行して確かめるための小さな関数。

どの関数も ``nn.RNN``(1 層・一方向・tanh・バイアスあり・batch_first=True)
の重みをそのまま使い、本文の式

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)

を手で計算する。PyTorch は行ベクトルをバッチ方向に積むので、コードでは
``h @ W_hh.T`` のように転置をかけて同じ計算をする。
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def _check_rnn(rnn: nn.Module) -> None:
    """本モジュールが扱える nn.RNN(1 層・一方向・tanh・バイアスあり)か
    確かめる。
    """
    if not isinstance(rnn, nn.RNN):
        raise ValueError(
            "rnn は torch.nn.RNN にしてください"
            f"(受け取った型: {type(rnn).__name__})"
        )
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError(
            "1 層・一方向の nn.RNN にしてください"
            f"(num_layers={rnn.num_layers}, bidirectional={rnn.bidirectional})"
        )
    if rnn.nonlinearity != "tanh" or not rnn.bias:
        raise ValueError(
            "活性化関数 tanh・バイアスありの nn.RNN にしてください"
            f"(nonlinearity={rnn.nonlinearity!r}, bias={rnn.bias})"
        )
    if not rnn.batch_first:
        raise ValueError("batch_first=True の nn.RNN にしてください")


def _check_last_dim(
    name: str, tensor: torch.Tensor, ndim: int, size: int
) -> None:
    """テンソルの次元数と最後の軸の大きさを確かめる。"""
    if tensor.ndim != ndim or tensor.shape[-1] != size:
        raise ValueError(
            f"{name} は {ndim} 次元で最後の軸が {size} の形状にしてください"
            f"(受け取った形状: {tuple(tensor.shape)})"
        )


def _check_step(rnn: nn.RNN, x_t: torch.Tensor, h_prev: torch.Tensor) -> None:
    """manual_rnn_step の引数(RNN 層・x_t・h_prev の形状)を確かめる。"""
    _check_rnn(rnn)
    _check_last_dim("x_t", x_t, 2, rnn.input_size)
    _check_last_dim("h_prev", h_prev, 2, rnn.hidden_size)


def _check_one_sequence(rnn: nn.RNN, x: torch.Tensor) -> None:
    """rnn が扱える RNN 層で、x が系列 1 本(形状 (1, seq_len, input_size))
    かを確かめる。
    """
    _check_rnn(rnn)
    if x.ndim != 3 or x.shape[0] != 1:
        raise ValueError(
            "x は系列 1 本、形状 (1, seq_len, input_size) に"
            f"してください(受け取った形状: {tuple(x.shape)})"
        )


def _check_at_least_one(name: str, value: int) -> None:
    """name の値 value が 1 以上かを確かめる。"""
    if value < 1:
        raise ValueError(
            f"{name} は 1 以上にしてください(受け取った値: {value})"
        )


def manual_rnn_step(
    rnn: nn.RNN, x_t: torch.Tensor, h_prev: torch.Tensor
) -> torch.Tensor:
    """nn.RNN の重みで 1 時刻分の更新 h_t = tanh(...) を手で計算する。

    Parameters
    ----------
    rnn : nn.RNN
        重みを借りる RNN 層。
    x_t : torch.Tensor
        時刻 t の入力。形状 (batch, input_size)
    h_prev : torch.Tensor
        1 つ前の隠れ状態 h_{t-1}。形状 (batch, hidden_size)

    Returns
    -------
    torch.Tensor
        新しい隠れ状態 h_t。形状 (batch, hidden_size)
    """
    _check_step(rnn, x_t, h_prev)
    W_xh = rnn.weight_ih_l0  # (hidden_size, input_size)
    W_hh = rnn.weight_hh_l0  # (hidden_size, hidden_size)
    b_h = rnn.bias_ih_l0 + rnn.bias_hh_l0  # 2 つのバイアスの和が b_h: (H,)
    return torch.tanh(h_prev @ W_hh.T + x_t @ W_xh.T + b_h)  # (B, H)


def manual_rnn_forward(
    rnn: nn.RNN, x: torch.Tensor, h0: torch.Tensor | None = None
) -> list[torch.Tensor]:
    """manual_rnn_step を時刻の順に繰り返し、h_0 から h_T までを返す。

    Parameters
    ----------
    rnn, x : nn.RNN, torch.Tensor
        RNN 層と入力系列。形状 (batch, seq_len, input_size)
    h0 : torch.Tensor or None
        初期状態。形状 (batch, hidden_size)。None なら 0。

    Returns
    -------
    list[torch.Tensor]
        長さ seq_len + 1 のリスト [h_0, h_1, ..., h_T]。
        各形状 (batch, hidden_size)
    """
    _check_last_dim("x", x, 3, rnn.input_size)
    if h0 is None:
        h0 = x.new_zeros(x.shape[0], rnn.hidden_size)
    states = [h0]
    for t in range(x.shape[1]):
        states.append(manual_rnn_step(rnn, x[:, t, :], states[-1]))
    return states


def step_shape_table(rnn: nn.RNN, batch_size: int) -> str:
    """1 時刻分の計算に出てくるテンソルの形状を、実際に計算して
    Markdown の表にする。

    Parameters
    ----------
    rnn : nn.RNN
        1 層・一方向・tanh・バイアスありの RNN 層。
    batch_size : int
        バッチの大きさ B(1 以上)。

    Returns
    -------
    str
        「コード上の式 | 形状」の Markdown の表。
    """
    _check_rnn(rnn)
    _check_at_least_one("batch_size", batch_size)
    W_xh = rnn.get_parameter("weight_ih_l0")
    W_hh = rnn.get_parameter("weight_hh_l0")
    b_ih = rnn.get_parameter("bias_ih_l0")
    b_hh = rnn.get_parameter("bias_hh_l0")
    x_t = W_hh.new_zeros(batch_size, rnn.input_size)  # (B, I)
    h_prev = W_hh.new_zeros(batch_size, rnn.hidden_size)  # (B, H)
    with torch.no_grad():
        rows = {
            "x_t": x_t,
            "h_prev": h_prev,
            "rnn.weight_ih_l0": W_xh,
            "rnn.weight_hh_l0": W_hh,
            "rnn.bias_ih_l0 + rnn.bias_hh_l0": b_ih + b_hh,
            "x_t @ W_xh.T": x_t @ W_xh.T,
            "h_prev @ W_hh.T": h_prev @ W_hh.T,
            "manual_rnn_step(rnn, x_t, h_prev)": manual_rnn_step(
                rnn, x_t, h_prev
            ),
        }
    lines = ["| コード上の式 | 形状 |", "|---|---|"]
    lines += [f"| `{name}` | `{tuple(v.shape)}` |" for name, v in rows.items()]
    return "\n".join(lines)


@dataclass(frozen=True)
class BPTTTrace:
    """損失を最後の時刻に置いたときの順伝播と逆伝播の記録。"""

    # 隠れ状態 h_0..h_T。形状 (seq_len+1, batch, hidden_size)
    states: torch.Tensor
    state_grads: torch.Tensor  # ∂L/∂h_t(t=0..T)。形状は states と同じ
    loss: float  # 損失 L の値


def hidden_state_grads(
    rnn: nn.RNN, head: nn.Linear, x: torch.Tensor, target: torch.Tensor
) -> BPTTTrace:
    """L = MSE(head(h_T), target) について、各時刻の ∂L/∂h_t を
    autograd で求める。

    Parameters
    ----------
    rnn, head : nn.RNN, nn.Linear
        RNN 層と出力層 y = W_hy h + b_y。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)
    target : torch.Tensor
        最後の時刻の正解。形状 (batch, output_size)
    """
    _check_rnn(rnn)
    _check_last_dim("target", target, 2, head.out_features)
    h0 = x.new_zeros(x.shape[0], rnn.hidden_size, requires_grad=True)
    states = manual_rnn_forward(rnn, x, h0)
    loss = nn.functional.mse_loss(head(states[-1]), target)
    grads = torch.autograd.grad(loss, states)  # 各 h_t に届いた勾配の合計
    return BPTTTrace(
        torch.stack(states).detach(), torch.stack(grads), loss.item()
    )


def whh_grad_terms(trace: BPTTTrace) -> torch.Tensor:
    """∂L/∂W_hh を時刻ごとの寄与に分けて返す(足すと全体の勾配になる)。

    時刻 t の寄与は δ_t = ∂L/∂h_t ⊙ (1 - h_t²)(tanh の中身への勾配)と
    h_{t-1} の外積 δ_t h_{t-1}ᵀ を、バッチについて足したもの。

    Parameters
    ----------
    trace : BPTTTrace
        :func:`hidden_state_grads` の記録。

    Returns
    -------
    torch.Tensor
        形状 (seq_len, hidden_size, hidden_size)。[t-1] が時刻 t の寄与
    """
    h = trace.states  # (T+1, B, H)
    delta = trace.state_grads[1:] * (1 - h[1:] ** 2)  # (T, B, H)
    return delta.mT @ h[:-1]  # (T, H, B) @ (T, B, H) → (T, H, H)


def autograd_whh_grad(
    rnn: nn.RNN, head: nn.Linear, x: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """nn.RNN 自身の順伝播と backward で求めた ∂L/∂W_hh(比較用)。

    Parameters
    ----------
    rnn, head : nn.RNN, nn.Linear
        RNN 層と出力層(:func:`hidden_state_grads` と同じ)。
    x : torch.Tensor
        入力系列。形状 (batch, seq_len, input_size)
    target : torch.Tensor
        最後の時刻の正解。形状 (batch, output_size)

    Returns
    -------
    torch.Tensor
        形状 (hidden_size, hidden_size)
    """
    _check_rnn(rnn)
    output, _ = rnn(x)  # (B, T, H)
    loss = nn.functional.mse_loss(head(output[:, -1, :]), target)
    (grad,) = torch.autograd.grad(loss, [rnn.weight_hh_l0])
    return grad  # (H, H)


def jacobian_norms_over_time(rnn: nn.RNN, x: torch.Tensor) -> torch.Tensor:
    """‖∂h_T/∂h_{T-k}‖(スペクトルノルム)を距離 k = 0, 1, ..., T について返す。

    ∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hh を、最後の時刻から順に掛けていく。

    Parameters
    ----------
    rnn, x : nn.RNN, torch.Tensor
        RNN 層と入力系列 1 本。形状 (1, seq_len, input_size)

    Returns
    -------
    torch.Tensor
        形状 (seq_len + 1,)。[k] が距離 k のノルム([0] は単位行列で 1)
    """
    _check_one_sequence(rnn, x)
    with torch.no_grad():
        states = manual_rnn_forward(rnn, x)
        W_hh = rnn.weight_hh_l0
        J = x.new_ones(rnn.hidden_size).diag()  # ∂h_T/∂h_T は単位行列
        norms = [torch.linalg.matrix_norm(J, ord=2)]
        for h_t in reversed(states[1:]):  # t = T, T-1, ..., 1
            J = J @ (torch.diag(1 - h_t[0] ** 2) @ W_hh)  # ∂h_T/∂h_{t-1}
            norms.append(torch.linalg.matrix_norm(J, ord=2))
    return torch.stack(norms)


def make_scaled_rnn(
    hidden_size: int, scale: float, seed: int = 0, input_size: int = 1
) -> nn.RNN:
    """W_hh = scale × (ランダムな直交行列)、バイアス 0 の nn.RNN を作る。

    直交行列はベクトルの長さを変えないので、W_hh の特異値はすべて scale に
    なる。scale < 1 なら 1 ステップごとに縮め、scale > 1 なら伸ばす。
    乱数は seed で固定し、ノートブック全体の乱数の流れには影響させない。

    Parameters
    ----------
    hidden_size : int
        隠れ状態の次元 H。
    scale : float
        W_hh の特異値。
    seed : int
        重みの乱数のシード。
    input_size : int
        入力の次元。

    Returns
    -------
    nn.RNN
        batch_first=True の 1 層の RNN 層。
    """
    if not scale > 0:
        raise ValueError(
            f"scale は正の値にしてください(受け取った値: {scale})"
        )
    _check_at_least_one("hidden_size", hidden_size)
    with torch.random.fork_rng(devices=[]):  # 外の乱数状態を守る
        torch.manual_seed(seed)
        rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        q, _ = torch.linalg.qr(torch.randn(hidden_size, hidden_size))
    with torch.no_grad():
        rnn.get_parameter("weight_hh_l0").copy_(scale * q)
        rnn.get_parameter("bias_ih_l0").zero_()
        rnn.get_parameter("bias_hh_l0").zero_()
    return rnn


def make_tiny_rnn(
    hidden_size: int = 3, seed: int = 0, input_size: int = 1
) -> tuple[nn.RNN, nn.Linear]:
    """手で追える大きさの RNN 層と出力層(output_size=1)を、
    シードを固定して作る。

    Parameters
    ----------
    hidden_size : int
        隠れ状態の次元 H。
    seed : int
        重みの乱数のシード(外の乱数状態は変えない)。
    input_size : int
        入力の次元。

    Returns
    -------
    rnn : nn.RNN
        batch_first=True の 1 層の RNN 層。
    head : nn.Linear
        出力層(H → 1)。
    """
    _check_at_least_one("hidden_size", hidden_size)
    with torch.random.fork_rng(devices=[]):  # 外の乱数状態を守る
        torch.manual_seed(seed)
        rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        head = nn.Linear(hidden_size, 1)
    return rnn, head


def bptt_table(trace: BPTTTrace) -> str:
    """時刻ごとの ‖∂L/∂h_t‖ と ∂L/∂W_hh への寄与の大きさを
    Markdown の表にする。

    ノルムはどちらもフロベニウスノルム(全要素の二乗和の平方根)。

    Parameters
    ----------
    trace : :func:`hidden_state_grads` の記録(BPTTTrace)

    Returns
    -------
    str
        時刻ごとの行の Markdown の表。
    """
    grad_norms = trace.state_grads.flatten(1).norm(dim=1)  # (T+1,)
    term_norms = whh_grad_terms(trace).flatten(1).norm(dim=1)  # (T,)
    lines = [
        "| 時刻 $t$ | $\\lVert \\partial L / \\partial h_t \\rVert$ "
        "| 時刻 $t$ の $W_{hh}$ への寄与の大きさ |",
        "|---:|---:|---:|",
    ]
    for t, g in enumerate(grad_norms.tolist()):
        term = "−" if t == 0 else f"{term_norms[t - 1].item():.3e}"
        lines.append(f"| {t} | {g:.3e} | {term} |")
    return "\n".join(lines)
