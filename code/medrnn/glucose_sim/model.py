"""1 型糖尿病シミュレータ(UVA/Padova モデル)の本書版の実装。

式・状態の並び・食事とインスリンの扱いは simglucose 0.2.11
(Xie 2018, MIT ライセンス)の ``simglucose/patient/t1dpatient.py`` と同じにし、
仮想患者のパラメータは simglucose が同梱する CSV から読む。simglucose 自身は
import しない(gym と pkg_resources が要るため)。違いは速さだけで、
パラメータを 1 回だけ配列に読み、複数の患者をまとめて 1 つの連立微分方程式
として解く(1 分ごとに scipy の ``ode``・dopri5 で積分するのは
simglucose と同じ)。

単位: 血糖 [mg/dL]、炭水化物 [g](食べる速さは [g/min])、インスリン [U/min]、
時間 [min]。
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.integrate import ode
from scipy.interpolate import CubicSpline

STATE_SIZE = 13  # 状態の数(胃・腸・血糖・インスリン・皮下など)
EAT_RATE = 5.0  # 食べる速さの上限 [g/min](simglucose と同じ)
PATIENT_GROUPS = ("adolescent", "adult", "child")  # 仮想患者の群
INSTALL_HINT = (
    "python -m pip install --no-deps -r requirements-data.txt "
    "で simglucose を入れてください"
)


def simglucose_dir() -> Path:
    """simglucose のパッケージのフォルダ(import せずに場所だけ探す)。

    Returns
    -------
    Path
        params/ フォルダを含むパッケージのフォルダ。
    """
    spec = importlib.util.find_spec("simglucose")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("simglucose が見つかりません。" + INSTALL_HINT)
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / "params" / "vpatient_params.csv").is_file():
        raise FileNotFoundError(
            f"{folder} に params/vpatient_params.csv が"
            "ありません。" + INSTALL_HINT
        )
    return folder


def _read_rows(filename: str) -> dict[str, dict[str, str]]:
    """simglucose/params/ の CSV を読み、Name 列 → 行(列名 → 文字列)にする。"""
    with open(simglucose_dir() / "params" / filename, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


@dataclass(frozen=True)
class VirtualPatient:
    """仮想患者 1 人のパラメータ。"""

    name: str  # 例: "adult#001"
    params: dict[str, float]  # vpatient_params.csv の数値の列(BW [kg] など)
    carb_ratio: float  # 糖質インスリン比 [g/U](Quest.csv の CR)
    correction_factor: float  # インスリン効果値 [mg/dL/U](Quest.csv の CF)

    @property
    def init_state(self) -> np.ndarray:
        """初期状態(x0_1 〜 x0_13)。形状 (13,)"""
        return np.array(
            [self.params[f"x0_{k:2d}"] for k in range(1, STATE_SIZE + 1)]
        )

    @property
    def basal_rate(self) -> float:
        """空腹時の血糖を保つ基礎インスリン [U/min] = u2ss * BW / 6000。"""
        return self.params["u2ss"] * self.params["BW"] / 6000

    @property
    def basal_glucose(self) -> float:
        """初期状態の皮下グルコース濃度 [mg/dL]。"""
        return self.params["x0_13"] / self.params["Vg"]


def patient_names(group: str | None = None) -> list[str]:
    """仮想患者の名前の一覧(group を渡すとその群だけ)。

    Parameters
    ----------
    group : str or None
        "adolescent"・"adult"・"child" のどれか。None なら全員。

    Returns
    -------
    list[str]
        名前(例 "adult#001")の一覧。

    Raises
    ------
    ValueError
        知らない群の名前のとき。
    """
    if group is not None and group not in PATIENT_GROUPS:
        raise ValueError(
            f"group は {PATIENT_GROUPS} のどれかにしてください"
            f"(受け取った値: {group!r})"
        )
    names = list(_read_rows("vpatient_params.csv"))
    return [n for n in names if group is None or n.startswith(group + "#")]


def load_patient(name: str) -> VirtualPatient:
    """名前(例 "adult#001")から仮想患者のパラメータを読む。

    Parameters
    ----------
    name : str
        仮想患者の名前。

    Returns
    -------
    VirtualPatient
        モデルのパラメータと糖質インスリン比・インスリン効果値。
    """
    rows = _read_rows("vpatient_params.csv")
    if name not in rows:
        raise ValueError(
            f"仮想患者 {name!r} はありません"
            f"(例: {', '.join(list(rows)[10:13])})"
        )
    params = {k: float(v) for k, v in rows[name].items() if k != "Name"}
    quest = _read_rows("Quest.csv")[name]
    return VirtualPatient(name, params, float(quest["CR"]), float(quest["CF"]))


class _StackedParams:
    """P 人分のパラメータを、名前 → 形状 (P,) の配列にまとめたもの。"""

    # __init__ で setattr する CSV の列のうち、式で使うもの(型の宣言だけ)
    BW: np.ndarray
    Fsnc: np.ndarray
    Ib: np.ndarray
    Km0: np.ndarray
    Vg: np.ndarray
    Vi: np.ndarray
    Vm0: np.ndarray
    Vmx: np.ndarray
    b: np.ndarray
    d: np.ndarray
    f: np.ndarray
    k1: np.ndarray
    k2: np.ndarray
    ka1: np.ndarray
    ka2: np.ndarray
    kabs: np.ndarray
    kd: np.ndarray
    ke1: np.ndarray
    ke2: np.ndarray
    ki: np.ndarray
    kmax: np.ndarray
    kmin: np.ndarray
    kp1: np.ndarray
    kp2: np.ndarray
    kp3: np.ndarray
    ksc: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    m30: np.ndarray
    m4: np.ndarray
    p2u: np.ndarray

    def __init__(self, patients: list[VirtualPatient]) -> None:
        """P 人分の CSV の列を配列にし、式でよく使う和を前もって求める。"""
        for key in patients[0].params:
            setattr(self, key, np.array([p.params[key] for p in patients]))
        # 胃から腸への速度の幅の半分
        self.kgut_half = (self.kmax - self.kmin) / 2
        self.m2_m4 = self.m2 + self.m4  # 血漿インスリンの消失
        self.m1_m30 = self.m1 + self.m30  # 肝臓のインスリンの消失
        self.ka1_kd = self.ka1 + self.kd  # 皮下インスリンの吸収と拡散
        self.to_pmol = 6000 / self.BW  # [U/min] → [pmol/kg/min]


def _gut_rate(
    qsto: np.ndarray, dbar: np.ndarray, p: _StackedParams
) -> np.ndarray:
    """胃から腸への速度 kgut [1/min]。
    胃の中身 qsto と食事量 dbar [mg] で変わる。
    """
    safe = np.where(dbar > 0, dbar, 1.0)
    aa = 5 / (2 * safe * (1 - p.b))
    cc = 5 / (2 * safe * p.d)
    kgut = p.kmin + p.kgut_half * (
        np.tanh(aa * (qsto - p.b * safe))
        - np.tanh(cc * (qsto - p.d * safe))
        + 2
    )
    return np.where(dbar > 0, kgut, p.kmax)


def uva_padova_rhs(
    t: float,
    x: np.ndarray,
    cho_mg: np.ndarray,
    insulin_pmol: np.ndarray,
    dbar: np.ndarray,
    p: _StackedParams,
) -> np.ndarray:
    """UVA/Padova モデルの右辺 dx/dt(P 人分を並べて一度に計算する)。

    式は simglucose の T1DPatient.model と同じ。

    Parameters
    ----------
    t : float
        時刻 [min](式には現れない。積分器の呼び方に合わせた引数)。
    x : np.ndarray
        状態。形状 (13 * P,)(状態ごとに P 人分が並ぶ)
    cho_mg : np.ndarray
        食べる速さ [mg/min]。形状 (P,)
    insulin_pmol : np.ndarray
        インスリン注入 [pmol/kg/min]。形状 (P,)
    dbar : np.ndarray
        直近の食事量 [mg]。形状 (P,)
    p : _StackedParams
        P 人分のパラメータ。

    Returns
    -------
    np.ndarray
        dx/dt。形状 (13 * P,)
    """
    x = x.reshape(STATE_SIZE, -1)  # (13, P)
    dx = np.empty_like(x)
    kgut = _gut_rate(x[0] + x[1], dbar, p)
    dx[0] = -p.kmax * x[0] + cho_mg  # 胃(固形)
    dx[1] = p.kmax * x[0] - kgut * x[1]  # 胃(液状)
    dx[2] = kgut * x[1] - p.kabs * x[2]  # 腸
    ra = p.f * p.kabs * x[2] / p.BW  # 血中への糖の出現 [mg/kg/min]
    egp = np.maximum(p.kp1 - p.kp2 * x[3] - p.kp3 * x[8], 0)  # 肝臓の糖産生
    renal = p.ke1 * np.maximum(x[3] - p.ke2, 0)  # 腎臓からの排泄
    dx[3] = egp + ra - p.Fsnc - renal - p.k1 * x[3] + p.k2 * x[4]  # 血漿の糖
    uid = (p.Vm0 + p.Vmx * x[6]) * x[4] / (p.Km0 + x[4])  # 組織の糖の利用
    dx[4] = -uid + p.k1 * x[3] - p.k2 * x[4]  # 組織の糖
    # 血漿のインスリン
    dx[5] = -p.m2_m4 * x[5] + p.m1 * x[9] + p.ka1 * x[10] + p.ka2 * x[11]
    plasma_insulin = x[5] / p.Vi  # [pmol/L]
    dx[6] = -p.p2u * x[6] + p.p2u * (plasma_insulin - p.Ib)  # 糖利用への作用
    dx[7] = -p.ki * (x[7] - plasma_insulin)  # 糖産生への作用(遅れ 1)
    dx[8] = -p.ki * (x[8] - x[7])  # 糖産生への作用(遅れ 2)
    dx[9] = -p.m1_m30 * x[9] + p.m2 * x[5]  # 肝臓のインスリン
    dx[10] = insulin_pmol - p.ka1_kd * x[10]  # 皮下のインスリン 1
    dx[11] = p.kd * x[10] - p.ka2 * x[11]  # 皮下のインスリン 2
    dx[12] = -p.ksc * x[12] + p.ksc * x[3]  # 皮下のグルコース(CGM が測る)
    clamped = [3, 4, 5, 9, 10, 11, 12]  # 負にならないよう止める状態
    dx[clamped] *= x[clamped] >= 0
    return dx.ravel()


def _check_inputs(
    values: np.ndarray, name: str, n_patients: int
) -> np.ndarray:
    """入力の配列を (P, n_min) の float にし、
    形と値(有限・0 以上)を確かめる。
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] != n_patients or arr.shape[1] < 1:
        raise ValueError(
            f"{name} は形状 ({n_patients}, n_min) にしてください"
            f"(受け取った形状: {np.shape(values)})"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name} に負の値・NaN・無限大があります"
            "(量は 0 以上にしてください)"
        )
    return arr


def eat_step(
    planned: np.ndarray, announced: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """告げた食事を、1 分あたり EAT_RATE [g] までのペースで食べる。

    Parameters
    ----------
    planned : np.ndarray
        まだ食べていない量 [g]。形状 (P,)
    announced : np.ndarray
        この分に告げた(食べ始めた)量 [g]。形状 (P,)

    Returns
    -------
    eat : np.ndarray
        この 1 分に食べる量 [g/min]。形状 (P,)
    planned : np.ndarray
        まだ食べていない量 [g]。形状 (P,)
    """
    planned = planned + announced
    eat = np.clip(planned, 0.0, EAT_RATE)
    return eat, np.maximum(planned - eat, 0.0)


def track_meal(
    state: np.ndarray,
    eat: np.ndarray,
    last_eat: np.ndarray,
    last_qsto: np.ndarray,
    food: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """食べ始めを見つけ、食事量 Dbar = last_qsto + 1000 food の記録を更新する。

    Parameters
    ----------
    state : 今の状態。形状 (13 * P,)
    eat, last_eat : この分と前の分に食べる量 [g/min]。形状 (P,)
    last_qsto : 食べ始めたときの胃の中身 [mg]。形状 (P,)
    food : 食べ始めてから食べた量 [g]。形状 (P,)

    Returns
    -------
    last_qsto, food : 更新した値(simglucose の T1DPatient.step と同じ規則)
    """
    x = state.reshape(STATE_SIZE, -1)  # (13, P)
    start = (eat > 0) & (last_eat <= 0)  # この分に食べ始めた患者
    last_qsto = np.where(start, x[0] + x[1], last_qsto)  # 胃の中身 [mg]
    food = np.where(start, 0.0, food) + eat  # 食べ始めてからの量 [g]
    return last_qsto, food


def simulate(
    patients: list[VirtualPatient],
    meals_g: np.ndarray,
    insulin_u_per_min: np.ndarray,
    sample_min: int = 1,
) -> np.ndarray:
    """P 人の仮想患者をまとめてシミュレートする(入力は 1 分ごとに一定)。

    Parameters
    ----------
    patients : list[VirtualPatient]
        仮想患者。
    meals_g : np.ndarray
        各分に告げた(食べ始めた)炭水化物 [g]。形状 (P, n_min)
    insulin_u_per_min : np.ndarray
        各分のインスリン注入速度 [U/min](基礎 + ボーラス)。形状 (P, n_min)
    sample_min : int
        出力の間隔 [min]。1 なら simglucose と同じく 1 分ごとに積分し直す。
        それより大きいと、入力が変わらない間はまとめて積分する(速い)。

    Returns
    -------
    np.ndarray
        皮下グルコース濃度 [mg/dL]。時刻 0, sample_min, 2 sample_min, ... 分。
        形状 (P, n_min // sample_min + 1)
    """
    n_pat = len(patients)
    meals, insulin = _check_schedule(meals_g, insulin_u_per_min, n_pat)
    if sample_min < 1:
        raise ValueError(
            f"sample_min は 1 以上にしてください(受け取った値: {sample_min})"
        )
    p = _StackedParams(patients)
    x0 = np.stack([pt.init_state for pt in patients], axis=1)  # (13, P)
    solver = ode(uva_padova_rhs).set_integrator("dopri5")
    solver.set_initial_value(x0.ravel(), 0.0)
    glucose = np.empty((n_pat, meals.shape[1] // sample_min + 1))
    planned, eat = np.zeros(n_pat), np.zeros(n_pat)
    last_qsto, food = x0[0] + x0[1], np.zeros(n_pat)  # 食事の始まりの記録
    for k in range(meals.shape[1]):
        last_eat = eat
        eat, planned = eat_step(planned, meals[:, k])
        changed = (
            k == 0
            or eat.any()
            or last_eat.any()
            or np.any(insulin[:, k] != insulin[:, k - 1])
        )
        if changed or k % sample_min == 0:
            _advance(solver, k)  # 入力が変わる時刻・出力の時刻まで積分
        if k % sample_min == 0:
            glucose[:, k // sample_min] = solver.y[12 * n_pat :] / p.Vg
        if changed:
            last_qsto, food = track_meal(
                solver.y, eat, last_eat, last_qsto, food
            )
            solver.set_f_params(
                eat * 1000,
                insulin[:, k] * p.to_pmol,
                last_qsto + food * 1000,
                p,
            )
    _advance(solver, meals.shape[1])
    if meals.shape[1] % sample_min == 0:
        glucose[:, -1] = solver.y[12 * n_pat :] / p.Vg
    return glucose


def _check_schedule(
    meals_g: np.ndarray, insulin_u_per_min: np.ndarray, n_patients: int
) -> tuple[np.ndarray, np.ndarray]:
    """食事とインスリンの予定表を確かめ、形状 (P, n_min) の配列にする。"""
    if n_patients < 1:
        raise ValueError("patients が空です")
    meals = _check_inputs(meals_g, "meals_g", n_patients)
    insulin = _check_inputs(insulin_u_per_min, "insulin_u_per_min", n_patients)
    if meals.shape != insulin.shape:
        raise ValueError(
            f"meals_g {meals.shape} と insulin_u_per_min "
            f"{insulin.shape} の形状が違います"
        )
    return meals, insulin


def _advance(solver: ode, t: float) -> None:
    """積分器を時刻 t [min] まで進める(すでに t なら何もしない)。"""
    if solver.t < t:
        solver.integrate(float(t))
        if not solver.successful():
            raise RuntimeError(f"{t} 分で微分方程式の積分に失敗しました")


@dataclass(frozen=True)
class MealPlan:
    """1 日 3 回の食事の決め方(時刻と量を乱数でばらつかせる)。"""

    hours: tuple[float, ...] = (7.0, 12.0, 18.5)  # 食事の平均時刻 [時]
    carbs_g: tuple[float, ...] = (45.0, 70.0, 80.0)  # 平均の炭水化物量 [g]
    time_sd_min: float = 40.0  # 時刻のばらつき(標準偏差)[min]
    max_shift_min: float = 90.0  # 時刻のずれの上限 [min]
    carbs_sd_g: float = 12.0  # 量のばらつき(標準偏差)[g]
    count_error_sd: float = 0.2  # 糖質量の見積もり誤差(相対、標準偏差)

    def __post_init__(self) -> None:
        """設定の値が使えるかを確かめる(使えなければ ValueError)。"""
        if len(self.hours) != len(self.carbs_g) or not self.hours:
            raise ValueError(
                "hours と carbs_g は同じ長さ(1 以上)にしてください"
            )
        if not all(0 <= h < 24 for h in self.hours):
            raise ValueError(
                f"hours は 0 以上 24 未満にしてください: {self.hours}"
            )
        if min(self.carbs_g) <= 0:
            raise ValueError(f"carbs_g は正にしてください: {self.carbs_g}")
        for name in (
            "time_sd_min",
            "max_shift_min",
            "carbs_sd_g",
            "count_error_sd",
        ):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{name} は 0 以上にしてください"
                    f"(受け取った値: {getattr(self, name)})"
                )


def random_meals(
    n_days: int, plan: MealPlan, rng: np.random.Generator
) -> np.ndarray:
    """n_days 日分の食事(食べ始めた分に、その炭水化物量 [g])。

    Parameters
    ----------
    n_days : int
        日数。
    plan : MealPlan
        食事の時刻と量の決め方。
    rng : np.random.Generator
        乱数生成器。

    Returns
    -------
    np.ndarray
        各分の炭水化物 [g](食事のない分は 0)。形状 (n_days * 1440,)
    """
    if n_days < 1:
        raise ValueError(
            f"n_days は 1 以上にしてください(受け取った値: {n_days})"
        )
    meals = np.zeros(n_days * 1440)
    for day in range(n_days):
        for hour, carbs in zip(plan.hours, plan.carbs_g):
            shift = np.clip(
                rng.normal(0, plan.time_sd_min),
                -plan.max_shift_min,
                plan.max_shift_min,
            )
            minute = round(day * 1440 + hour * 60 + float(shift))
            grams = max(round(rng.normal(carbs, plan.carbs_sd_g)), 5)
            meals[min(max(minute, 0), len(meals) - 1)] += grams
    return meals


def basal_bolus(
    patient: VirtualPatient,
    meals_g: np.ndarray,
    count_error_sd: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """基礎インスリン + 食事ごとのボーラス(食べ始めた分に 1 分で注入)[U/min]。

    ボーラス [U] = 見積もった炭水化物 [g] / 糖質インスリン比 [g/U]。
    見積もりは実際の量に (1 + 誤差) を掛けたもの(誤差は平均 0 の正規分布)。
    形状は meals_g と同じ (n_min,)。
    """
    meals = np.asarray(meals_g, dtype=np.float64)
    if meals.ndim != 1 or np.any(meals < 0) or not np.all(np.isfinite(meals)):
        raise ValueError(
            "meals_g は 0 以上の有限な値の 1 次元配列にしてください"
        )
    error = (
        rng.normal(0, count_error_sd, size=meals.shape)
        if count_error_sd > 0
        else np.zeros(meals.shape)
    )
    estimate = meals * np.clip(1 + error, 0.0, None)  # 見積もった量 [g]
    return patient.basal_rate + estimate / patient.carb_ratio


def cgm_noise(
    n_samples: int,
    sample_min: float,
    rng: np.random.Generator,
    sensor: str = "GuardianRT",
) -> np.ndarray:
    """CGM センサーの誤差 [mg/dL](simglucose と同じモデル)。形状 (n_samples,)

    15 分ごとに自己相関のある乱数 e_k = PACF (e_{k-1} + N(0, 1)) を作り、
    Johnson SU 変換 xi + lambda sinh((e - gamma) / delta) で
    歪んだ分布にしてから、
    3 次スプラインで sample_min 分ごとに補間する。

    Parameters
    ----------
    n_samples : int
        サンプルの数。
    sample_min : float
        サンプルの間隔 [min]。
    rng : np.random.Generator
        乱数生成器。
    sensor : str
        simglucose の sensor_params.csv のセンサー名。

    Returns
    -------
    np.ndarray
        誤差 [mg/dL]。形状 (n_samples,)
    """
    rows = _read_rows("sensor_params.csv")
    if sensor not in rows:
        raise ValueError(f"センサー {sensor!r} はありません({list(rows)})")
    if n_samples < 1 or not sample_min > 0:
        raise ValueError("n_samples は 1 以上、sample_min は正にしてください")
    s = {k: float(v) for k, v in rows[sensor].items() if k != "Name"}
    t = np.arange(n_samples) * sample_min  # 各サンプルの時刻 [min]
    n15 = int(np.ceil(t[-1] / 15)) + 4  # 補間に使う 15 分ごとの点の数
    e = np.empty(n15)
    e[0] = rng.standard_normal()
    for k in range(1, n15):
        e[k] = s["PACF"] * (e[k - 1] + rng.standard_normal())
    eps = s["xi"] + s["lambda"] * np.sinh((e - s["gamma"]) / s["delta"])
    return CubicSpline(np.arange(n15) * 15.0, eps)(t)


def bin_inputs(per_minute: np.ndarray, step: int) -> np.ndarray:
    """1 分ごとの量を、各サンプル時刻までの step 分間で合計する。

    サンプル i(時刻 step * i 分)の値は、分 step*i - step + 1 から step*i
    までの合計(その時刻までに告げた量だけで、未来は含まない)。

    Parameters
    ----------
    per_minute : np.ndarray
        1 分ごとの量。形状 (..., n_min)
    step : int
        サンプルの間隔 [min]。

    Returns
    -------
    np.ndarray
        合計。形状 (..., n_min // step + 1)
    """
    x = np.asarray(per_minute, dtype=np.float64)
    n_samples = x.shape[-1] // step + 1
    if step < 1:
        raise ValueError(f"step は 1 以上にしてください(受け取った値: {step})")
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(step - 1, step)])
    padded = padded[..., : n_samples * step]  # 前に step - 1 個の 0
    return padded.reshape(*x.shape[:-1], n_samples, step).sum(axis=-1)
