"""Erlang B, Erlang C and Erlang A (Palm) formulas for staffing and pacing.

Queueing models of a group of ``servers`` identical seats fed by Poisson arrivals with exponential
handle (talk + wrap-up) times of mean ``mean_handle_time``. The *offered load* ``A`` is the arrival
rate times the mean handle time, in erlangs: the number of seats the traffic would keep busy if no
call were ever lost or kept waiting.

* **Erlang B** (M/M/n/n, blocked calls cleared): the probability that an arriving call finds every
  seat busy and is lost.
* **Erlang C** (M/M/n, blocked calls wait forever): the probability that a call has to wait, the
  service level (share of calls answered within a target time) and the average speed of answer.
* **Erlang A** (M/M/n+M, Palm's model): callers wait, but each hangs up after an exponentially
  distributed patience of mean ``mean_patience``. Gives the probability of waiting, of abandoning,
  the mean wait and the service level. As the patience grows without bound it becomes Erlang C.

Everything is computed without factorials: Erlang B by its recursion
``B(k) = A B(k-1) / (k + A B(k-1))`` (every value stays in [0, 1]), Erlang A through Palm's tail
sum in log space (see :func:`_log_palm_sum`). The formulas stay accurate for thousands of seats.

Every public function accepts scalars or array-likes (NumPy broadcasting); with only scalar
arguments it returns a Python ``float``, otherwise a ``numpy`` array of float64.

References: A. Mandelbaum and S. Zeltyn, "The M/M/n+G queue: summary of performance measures"
(Technion, 2004); O. Garnett, A. Mandelbaum and M. Reiman, "Designing a call center with impatient
customers", MSOM 4(3), 2002; Baccelli and Hébuterne (1981) for the waiting-time density of M/M/n+G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "ErlangA",
    "agents_for_service_level",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_a_service_level",
    "erlang_b",
    "erlang_c",
    "service_level",
]

FloatArray: TypeAlias = NDArray[np.float64]
_Value = TypeVar("_Value", float, FloatArray)

# Palm's tail sum is summed term by term where the series converges fast, and taken from the
# regularized incomplete gamma function where that function is not vanishingly small.
_SERIES_MAX_X = 1.0e4
_GAMMA_FORM_MIN_P = 1.0e-200
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# Argument checking and scalar/array plumbing
# --------------------------------------------------------------------------------------------


def _servers_array(servers: ArrayLike) -> NDArray[np.int64]:
    raw = np.asarray(servers)
    if raw.dtype == np.bool_ or not (
        np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)
    ):
        raise ValueError(f"servers must be a whole number of seats, got {servers!r}")
    as_float = raw.astype(np.float64)
    if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"servers must be a whole number of seats, got {servers!r}")
    if np.any(as_float < 0):
        raise ValueError(f"servers must be >= 0, got {servers!r}")
    return raw.astype(np.int64)


def _float_array(
    name: str,
    value: ArrayLike,
    *,
    allow_zero: bool = True,
    allow_inf: bool = False,
) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must be a number, got NaN in {value!r}")
    if not allow_inf and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if allow_zero and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if not allow_zero and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return arr


def _all_scalar(*values: ArrayLike) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _result(value: FloatArray, scalar: bool) -> float | FloatArray:
    return float(value) if scalar else np.asarray(value, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------------------------


def _erlang_b_scalar(servers: int, load: float) -> float:
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def _erlang_b_array(servers: NDArray[np.int64], load: FloatArray) -> FloatArray:
    servers, load = np.broadcast_arrays(servers, load)
    if servers.size == 1:
        return np.full(load.shape, _erlang_b_scalar(int(servers.flat[0]), float(load.flat[0])))
    blocking = np.ones(load.shape, dtype=np.float64)
    top = int(servers.max()) if servers.size else 0
    for k in range(1, top + 1):
        carried = load * blocking
        np.divide(carried, k + carried, out=blocking, where=servers >= k)
    return blocking


@overload
def erlang_b(servers: int, offered_load: float) -> float: ...
@overload
def erlang_b(servers: ArrayLike, offered_load: ArrayLike) -> FloatArray: ...
def erlang_b(servers: ArrayLike, offered_load: ArrayLike) -> float | FloatArray:
    """Erlang B: probability that a call finds all ``servers`` busy and is lost (M/M/n/n).

    ``B(n, A) = (A^n / n!) / sum_{k=0..n} A^k / k!``, computed by the recursion
    ``B(0) = 1``, ``B(k) = A B(k-1) / (k + A B(k-1))``, which never overflows. ``B(0, A) = 1``.
    Example (textbook table): ``erlang_b(15, 10.0) == 0.03637...``.
    """
    n = _servers_array(servers)
    load = _float_array("offered_load", offered_load)
    if _all_scalar(servers, offered_load):
        return _erlang_b_scalar(int(n), float(load))
    return _erlang_b_array(n, load)


# --------------------------------------------------------------------------------------------
# Erlang C (M/M/n)
# --------------------------------------------------------------------------------------------


def _erlang_c_array(servers: NDArray[np.int64], load: FloatArray) -> FloatArray:
    servers, load = np.broadcast_arrays(servers, load)
    blocking = _erlang_b_array(servers, load)
    n = servers.astype(np.float64)
    stable = load < n
    denominator = np.where(stable, n - load * (1.0 - blocking), 1.0)
    return np.where(stable, n * blocking / denominator, 1.0)


@overload
def erlang_c(servers: int, offered_load: float) -> float: ...
@overload
def erlang_c(servers: ArrayLike, offered_load: ArrayLike) -> FloatArray: ...
def erlang_c(servers: ArrayLike, offered_load: ArrayLike) -> float | FloatArray:
    """Erlang C: probability that a call has to wait for a seat in M/M/n (nobody hangs up).

    ``C(n, A) = n B / (n - A (1 - B))`` with ``B = erlang_b(n, A)``, for ``A < n``. When the load
    reaches the seats (``A >= n``) the queue grows without bound and every call waits: ``C = 1``.
    Always ``C >= B``.
    """
    n = _servers_array(servers)
    load = _float_array("offered_load", offered_load)
    return _result(_erlang_c_array(n, load), _all_scalar(servers, offered_load))


@overload
def service_level(
    servers: int, offered_load: float, mean_handle_time: float, answer_time: float
) -> float: ...
@overload
def service_level(
    servers: ArrayLike, offered_load: ArrayLike, mean_handle_time: ArrayLike, answer_time: ArrayLike
) -> FloatArray: ...
def service_level(
    servers: ArrayLike, offered_load: ArrayLike, mean_handle_time: ArrayLike, answer_time: ArrayLike
) -> float | FloatArray:
    """Erlang C service level: share of calls answered within ``answer_time`` (M/M/n).

    ``SL = 1 - C(n, A) exp(-(n - A) t / h)`` with ``h`` the mean handle time (same unit as ``t``).
    It is 0 when ``A >= n`` (the queue is unstable).
    """
    n = _servers_array(servers)
    load = _float_array("offered_load", offered_load)
    handle = _float_array("mean_handle_time", mean_handle_time, allow_zero=False)
    target = _float_array("answer_time", answer_time, allow_inf=True)
    n_f, load, handle, target = np.broadcast_arrays(n.astype(np.float64), load, handle, target)
    wait_prob = _erlang_c_array(n_f.astype(np.int64), load)
    stable = load < n_f
    with np.errstate(invalid="ignore"):
        decay = np.exp(-np.where(stable, n_f - load, 1.0) * target / handle)
    level = np.where(stable, 1.0 - wait_prob * decay, 0.0)
    return _result(level, _all_scalar(servers, offered_load, mean_handle_time, answer_time))


@overload
def average_speed_of_answer(
    servers: int, offered_load: float, mean_handle_time: float
) -> float: ...
@overload
def average_speed_of_answer(
    servers: ArrayLike, offered_load: ArrayLike, mean_handle_time: ArrayLike
) -> FloatArray: ...
def average_speed_of_answer(
    servers: ArrayLike, offered_load: ArrayLike, mean_handle_time: ArrayLike
) -> float | FloatArray:
    """Erlang C average speed of answer: mean wait over all calls, in the unit of the handle time.

    ``ASA = C(n, A) h / (n - A)``; infinite when ``A >= n``.
    """
    n = _servers_array(servers)
    load = _float_array("offered_load", offered_load)
    handle = _float_array("mean_handle_time", mean_handle_time, allow_zero=False)
    n_f, load, handle = np.broadcast_arrays(n.astype(np.float64), load, handle)
    wait_prob = _erlang_c_array(n_f.astype(np.int64), load)
    stable = load < n_f
    asa = np.where(stable, wait_prob * handle / np.where(stable, n_f - load, 1.0), np.inf)
    return _result(asa, _all_scalar(servers, offered_load, mean_handle_time))


# --------------------------------------------------------------------------------------------
# Erlang A (M/M/n+M)
# --------------------------------------------------------------------------------------------


def _stirling_error(x: FloatArray) -> FloatArray:
    """``log Γ(x+1) - ((x + 1/2) log x - x + log(2π)/2)`` for x > 0, without cancellation."""
    out = np.empty_like(x)
    large = x > 15.0
    xl = x[large]
    inv, inv2 = 1.0 / xl, 1.0 / (xl * xl)
    out[large] = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    xs = x[~large]
    out[~large] = special.gammaln(xs + 1.0) - (xs + 0.5) * np.log(xs) + xs - 0.5 * _LOG_2PI
    return out


def _palm_series(x: FloatArray, y: FloatArray) -> FloatArray:
    """``sum_{j>=1} y^j / ((x+1)(x+2)...(x+j))`` for ``0 < y < x + 1``, term by term.

    Terms are produced a block at a time (running sums of ``log y - log(x+i)``) to keep the
    Python loop short for the slowly converging cases ``y`` close to large ``x``.
    """
    block = 256
    offsets = np.arange(1, block + 1, dtype=np.float64)
    tail = np.zeros_like(x)
    log_term = np.zeros_like(x)  # log of the last term added (t_0 = 1)
    active = np.arange(x.size)
    start = 0
    while active.size:
        xa, ya = x[active, None], y[active, None]
        index = start + offsets
        logs = log_term[active, None] + np.cumsum(np.log(ya) - np.log(xa + index), axis=1)
        tail[active] += np.exp(logs).sum(axis=1)
        log_term[active] = logs[:, -1]
        start += block
        # From here terms shrink geometrically with ratio r = y/(x+j+1) < 1, so what is left to
        # add is at most term * r / (1 - r).
        ratio = y[active] / (x[active] + start + 1)
        left = np.exp(log_term[active]) * ratio / (1.0 - ratio)
        active = active[left > 1e-17 * tail[active]]
    return tail


def _log_palm_sum(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Log of Palm's sum ``S(x, y) = sum_{j>=0} y^j / ((x+1)...(x+j))`` and of ``S - 1``.

    With ``x = n μ / θ`` and ``y = λ / θ`` (arrival rate λ, service rate μ, abandon rate θ),
    ``S`` is the ratio of the probability that all seats are busy to the probability of exactly
    ``n`` calls in the system. ``S = x e^y y^-x Γ(x) P(x, y)`` with ``P`` the regularized lower
    incomplete gamma function; its logarithm is taken as
    ``log P(x, y) + [x log(x/y) - x + y] + log(2π x)/2 + stirling_error(x)`` so that no huge
    terms cancel. Where ``y < x`` and either ``x <= 1e4`` or ``P`` is vanishingly small, the
    series is summed directly instead; its terms shrink geometrically there.
    Returns ``(log S, log(S - 1))``.
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    shape = x.shape
    x, y = x.ravel().copy(), y.ravel().copy()
    log_s = np.zeros_like(x)
    log_tail = np.full_like(x, -np.inf)

    no_seats = (x == 0) & (y > 0)  # S = e^y
    log_s[no_seats] = y[no_seats]
    log_tail[no_seats] = y[no_seats] + np.log(-np.expm1(-y[no_seats]))

    rest = (x > 0) & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        lower_p = np.where(rest, special.gammainc(np.where(rest, x, 1.0), y), 0.0)
    series = rest & (y < x) & ((x <= _SERIES_MAX_X) | (lower_p < _GAMMA_FORM_MIN_P))
    gamma = rest & ~series

    if np.any(series):
        tail = _palm_series(x[series], y[series])
        log_s[series] = np.log1p(tail)
        log_tail[series] = np.log(tail)
    if np.any(gamma):
        xg, yg = x[gamma], y[gamma]
        value = (
            np.log(lower_p[gamma])
            + special.kl_div(xg, yg)
            + 0.5 * (_LOG_2PI + np.log(xg))
            + _stirling_error(xg)
        )
        log_s[gamma] = value
        log_tail[gamma] = value + np.log(-np.expm1(-value))
    return log_s.reshape(shape), log_tail.reshape(shape)


@dataclass(frozen=True)
class ErlangA(Generic[_Value]):
    """Steady-state figures of the Erlang A model (M/M/n+M) for one set of inputs.

    Times are in the unit of the mean handle time and mean patience given to :func:`erlang_a`.
    """

    prob_wait: _Value
    """P(W > 0): share of callers who find every seat busy and queue."""
    prob_abandon: _Value
    """P(Ab): share of callers who hang up before reaching a seat."""
    mean_wait: _Value
    """E[W]: mean time in queue over all callers (abandoners count until they hang up).
    Equal to P(Ab) times the mean patience."""
    mean_queue_length: _Value
    """E[Q]: mean number of callers waiting (Little's law: arrival rate times E[W])."""
    occupancy: _Value
    """Share of seat time spent handling calls: A (1 - P(Ab)) / n (0 when n = 0)."""


@dataclass(frozen=True)
class _PalmModel:
    """Broadcast Erlang A inputs and the quantities every Erlang A figure is built from.

    ``x = n μ / θ`` and ``y = λ / θ``; rows with infinite patience (``impatient`` false) carry
    placeholder ``x, y, log_s, log_tail`` and their ``prob_wait`` is Erlang C.
    """

    n: FloatArray
    load: FloatArray
    handle: FloatArray
    patience: FloatArray
    impatient: NDArray[np.bool_]
    x: FloatArray
    y: FloatArray
    log_s: FloatArray
    log_tail: FloatArray
    prob_wait: FloatArray
    prob_no_wait: FloatArray  # 1 - prob_wait, computed without cancellation

    @classmethod
    def build(
        cls,
        servers: ArrayLike,
        offered_load: ArrayLike,
        mean_handle_time: ArrayLike,
        mean_patience: ArrayLike,
    ) -> _PalmModel:
        n_int = _servers_array(servers)
        load = _float_array("offered_load", offered_load)
        handle = _float_array("mean_handle_time", mean_handle_time, allow_zero=False)
        patience = _float_array("mean_patience", mean_patience, allow_zero=False, allow_inf=True)
        n, load, handle, patience = np.broadcast_arrays(
            n_int.astype(np.float64), load, handle, patience
        )
        impatient = np.isfinite(patience)
        scale = np.where(impatient, patience, 1.0) / handle
        x, y = n * scale, load * scale
        log_s, log_tail = _log_palm_sum(x, y)
        seats = n.astype(np.int64)
        with np.errstate(divide="ignore"):
            # P(W > 0) = S B / (1 + (S - 1) B) = expit(log S + logit B): no overflow for huge S.
            log_odds = log_s + special.logit(_erlang_b_array(seats, load))
        erlang_c_wait = _erlang_c_array(seats, load)
        return cls(
            n=n,
            load=load,
            handle=handle,
            patience=patience,
            impatient=impatient,
            x=x,
            y=y,
            log_s=log_s,
            log_tail=log_tail,
            prob_wait=np.where(impatient, special.expit(log_odds), erlang_c_wait),
            prob_no_wait=np.where(impatient, special.expit(-log_odds), 1.0 - erlang_c_wait),
        )

    def served_share_of_waiters(self) -> FloatArray:
        """``(x / y) (S - 1) / S``: share of callers who queue and then reach a seat."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.y > 0, self.x / np.where(self.y > 0, self.y, 1.0), 0.0)
            return np.clip(ratio * np.exp(self.log_tail - self.log_s), 0.0, 1.0)


@overload
def erlang_a(
    servers: int, offered_load: float, mean_handle_time: float, mean_patience: float
) -> ErlangA[float]: ...
@overload
def erlang_a(
    servers: ArrayLike,
    offered_load: ArrayLike,
    mean_handle_time: ArrayLike,
    mean_patience: ArrayLike,
) -> ErlangA[FloatArray]: ...
def erlang_a(
    servers: ArrayLike,
    offered_load: ArrayLike,
    mean_handle_time: ArrayLike,
    mean_patience: ArrayLike,
) -> ErlangA[float] | ErlangA[FloatArray]:
    """Erlang A (M/M/n+M): ``n`` seats, Poisson calls, exponential handle times and patience.

    With arrival rate λ = A / h, service rate μ = 1 / h, abandon rate θ = 1 / mean_patience,
    ``x = n μ / θ``, ``y = λ / θ``, Palm's sum ``S = sum_{j>=0} y^j / ((x+1)...(x+j))`` and
    ``B`` the Erlang B blocking of ``n`` seats at load A:

    * ``P(W > 0) = S B / (1 + (S - 1) B)``
    * ``P(Ab | W > 0) = 1 - (x / y) (S - 1) / S`` (equivalently ``1 - 1/ρ + 1/(ρ S)``, ρ = A/n)
    * ``P(Ab) = P(Ab | W > 0) P(W > 0)``, ``E[W] = P(Ab) / θ``, ``E[Q] = λ E[W]``.

    Unlike Erlang C it is stable at any load, including ``A >= n``. An infinite ``mean_patience``
    gives Erlang C (``prob_abandon = 0``, ``mean_wait`` = average speed of answer).
    """
    model = _PalmModel.build(servers, offered_load, mean_handle_time, mean_patience)
    n, load, handle, prob_wait = model.n, model.load, model.handle, model.prob_wait
    abandon_given_wait = 1.0 - model.served_share_of_waiters()
    prob_abandon = np.where(model.impatient & (load > 0), abandon_given_wait * prob_wait, 0.0)
    mean_wait = np.where(
        model.impatient,
        prob_abandon * np.where(model.impatient, model.patience, 0.0),
        _asa_or_inf(n, load, handle, prob_wait),
    )
    mean_queue = load / handle * mean_wait
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(n > 0, load * (1.0 - prob_abandon) / np.where(n > 0, n, 1.0), 0.0)
    occupancy = np.minimum(occupancy, 1.0)
    scalar = _all_scalar(servers, offered_load, mean_handle_time, mean_patience)
    if scalar:
        return ErlangA(
            prob_wait=float(prob_wait),
            prob_abandon=float(prob_abandon),
            mean_wait=float(mean_wait),
            mean_queue_length=float(mean_queue),
            occupancy=float(occupancy),
        )
    return ErlangA(
        prob_wait=np.asarray(prob_wait, dtype=np.float64),
        prob_abandon=np.asarray(prob_abandon, dtype=np.float64),
        mean_wait=np.asarray(mean_wait, dtype=np.float64),
        mean_queue_length=np.asarray(mean_queue, dtype=np.float64),
        occupancy=np.asarray(occupancy, dtype=np.float64),
    )


def _asa_or_inf(
    n: FloatArray, load: FloatArray, handle: FloatArray, wait: FloatArray
) -> FloatArray:
    stable = load < n
    return np.where(stable, wait * handle / np.where(stable, n - load, 1.0), np.inf)


@overload
def erlang_a_service_level(
    servers: int,
    offered_load: float,
    mean_handle_time: float,
    mean_patience: float,
    answer_time: float,
) -> float: ...
@overload
def erlang_a_service_level(
    servers: ArrayLike,
    offered_load: ArrayLike,
    mean_handle_time: ArrayLike,
    mean_patience: ArrayLike,
    answer_time: ArrayLike,
) -> FloatArray: ...
def erlang_a_service_level(
    servers: ArrayLike,
    offered_load: ArrayLike,
    mean_handle_time: ArrayLike,
    mean_patience: ArrayLike,
    answer_time: ArrayLike,
) -> float | FloatArray:
    """Erlang A service level: share of ALL callers connected to a seat within ``answer_time``.

    Callers who hang up count as not answered (so the limit for a long ``answer_time`` is
    ``1 - P(Ab)``, not 1). The offered wait V (time until a seat would take the caller) has, when
    positive, the density ``∝ exp(λ G(v) - n μ v)`` with ``G(v) = (1 - e^{-θ v}) / θ`` (Baccelli &
    Hébuterne); integrating it against the chance ``e^{-θ v}`` that the caller is still there gives

    ``SL(t) = 1 - P(W>0) + P(W>0) (x/y) [(S - 1) - e^{-nμt + λG(t)} (S_t - 1)] / S``

    with ``S_t`` Palm's sum at ``y e^{-θ t}`` in place of ``y``. An infinite patience gives the
    Erlang C :func:`service_level`.
    """
    model = _PalmModel.build(servers, offered_load, mean_handle_time, mean_patience)
    target = _float_array("answer_time", answer_time, allow_inf=True)
    shape = np.broadcast_shapes(model.n.shape, target.shape)
    n, load, handle, patience, x, y, log_s, prob_wait, prob_no_wait, target = (
        np.broadcast_to(v, shape)
        for v in (
            model.n,
            model.load,
            model.handle,
            model.patience,
            model.x,
            model.y,
            model.log_s,
            model.prob_wait,
            model.prob_no_wait,
            target,
        )
    )
    impatient = np.isfinite(patience)
    theta_t = np.where(impatient, target / np.where(impatient, patience, 1.0), 0.0)
    finite_t = np.isfinite(theta_t)
    theta_t = np.where(finite_t, theta_t, 0.0)
    _, log_tail_later = _log_palm_sum(x, y * np.exp(-theta_t))
    # log of e^{-nμt + λG(t)} = -x θt + y (1 - e^{-θt})
    log_decay = -x * theta_t - y * np.expm1(-theta_t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(y > 0, x / np.where(y > 0, y, 1.0), 0.0)
        still_waiting = np.where(finite_t, np.exp(log_decay + log_tail_later - log_s), 0.0)
    served_by_now = np.broadcast_to(model.served_share_of_waiters(), shape)
    answered_given_wait = np.clip(served_by_now - ratio * still_waiting, 0.0, 1.0)
    level = prob_no_wait + prob_wait * answered_given_wait
    # Infinite patience: Erlang C.
    stable = load < n
    with np.errstate(invalid="ignore", over="ignore"):
        decay_c = np.exp(-np.where(stable, n - load, 1.0) * target / handle)
    level_c = np.where(stable, 1.0 - prob_wait * decay_c, 0.0)
    level = np.where(impatient, level, level_c)
    level = np.where(load > 0, level, 1.0)
    scalar = _all_scalar(servers, offered_load, mean_handle_time, mean_patience, answer_time)
    return _result(np.clip(level, 0.0, 1.0), scalar)


# --------------------------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------------------------


def agents_for_service_level(
    offered_load: float,
    mean_handle_time: float,
    answer_time: float,
    target: float,
    *,
    mean_patience: float = math.inf,
    max_servers: int = 1_000_000,
) -> int:
    """Smallest number of seats whose service level reaches ``target`` (e.g. 80% in 20 s).

    Uses Erlang C (:func:`service_level`) when ``mean_patience`` is infinite (the default), else
    Erlang A (:func:`erlang_a_service_level`, where abandoned calls count as not answered, so the
    target must stay below what the patience allows). The service level never falls when a seat
    is added, so the answer is found by doubling then bisection: O(log n) evaluations.

    Raises ``ValueError`` if ``target`` is not in (0, 1) or no count up to ``max_servers``
    reaches it.
    """
    load = float(_float_array("offered_load", offered_load))
    float(_float_array("mean_handle_time", mean_handle_time, allow_zero=False))
    float(_float_array("answer_time", answer_time))
    float(_float_array("mean_patience", mean_patience, allow_zero=False, allow_inf=True))
    if not 0.0 < target < 1.0:
        raise ValueError(f"target service level must be in (0, 1), got {target!r}")

    def level(seats: int) -> float:
        if math.isinf(mean_patience):
            return service_level(seats, load, mean_handle_time, answer_time)
        return erlang_a_service_level(seats, load, mean_handle_time, mean_patience, answer_time)

    if load == 0.0:
        return 0
    low = 0  # level(low) < target is kept true (no seat answers nobody)
    high = max(1, math.ceil(load))
    while level(high) < target:
        if high >= max_servers:
            raise ValueError(
                f"no seat count up to max_servers={max_servers} reaches service level {target} "
                f"within {answer_time} for offered load {load} erlangs"
            )
        low, high = high, min(2 * high, max_servers)
    while high - low > 1:
        middle = (low + high) // 2
        if level(middle) >= target:
            high = middle
        else:
            low = middle
    return high
