"""Trajectories of the synthetic generator: walking, and the abnormal segments planted in videos.

Each segment function ``(p0, theta, n, person, scene, rng)`` returns the
hip positions, facing, gait style and body tilt of ``n`` frames.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from ._synthetic_scene import _LIE, _REF_FPS, _REF_HEIGHT, _RUN, _SHUFFLE, _Person, _Scene


def _exprel(x: np.ndarray) -> np.ndarray:
    """``expm1(x) / x``, equal to 1 at 0."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-8
    return np.where(small, 1.0 + x / 2, np.expm1(x) / np.where(small, 1.0, x))


def _speed_coeffs(p0: np.ndarray, u: np.ndarray, person: _Person, scene: _Scene) -> tuple[float, float]:
    """``(alpha, beta)`` with speed ``alpha + beta * s`` after ``s`` pixels along ``u`` (perspective)."""
    k = person.speed * person.scale * (_REF_FPS / scene.fps) / (_REF_HEIGHT * scene.height)
    slope = (scene.h_near - scene.h_far) / scene.height
    return k * (scene.h_far + slope * p0[1]), k * slope * u[1]


def _travel(p0, theta, time_warp, person: _Person, scene: _Scene, rng) -> np.ndarray:
    """Hip positions after each frame of walking from ``p0`` along ``theta``.

    ``time_warp`` is the cumulative speed factor (``arange(1, n + 1)`` for a
    plain walk). Speed scales with the person's apparent height, which grows
    linearly with the image row, so the path length has the closed form of
    ``ds/dt = f(t) (alpha + beta s)``.
    """
    u = np.array([np.cos(theta), np.sin(theta)])
    alpha, beta = _speed_coeffs(p0, u, person, scene)
    s = alpha * time_warp * _exprel(beta * time_warp)
    t = np.arange(1, len(time_warp) + 1)
    phase = rng.uniform(0, 2 * np.pi)
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    sway = person.sway * h0 * (np.sin(2 * np.pi * t / person.sway_period + phase) - np.sin(phase))
    normal = np.array([-u[1], u[0]])
    return p0 + s[:, None] * u + sway[:, None] * normal


def _walk(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    root = _travel(p0, theta, np.arange(1, n + 1, dtype=np.float64), person, scene, rng)
    return root, np.full(n, theta), np.tile(person.style, (n, 1)), np.zeros(n)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _ramp(n: int, n_ramp: int) -> np.ndarray:
    """0 → 1 over ``n_ramp`` frames, 1, then back to 0 over the last ``n_ramp`` frames."""
    t = np.arange(n, dtype=np.float64)
    return np.minimum(_smoothstep((t + 1) / n_ramp), _smoothstep((n - t) / n_ramp))


def _run(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Running at 3-5 times the walking speed, with a faster, wider gait and a forward lean."""
    mix = _ramp(n, min(8, max(1, n // 4)))
    factor = 1.0 + (rng.uniform(3.0, 5.0) - 1.0) * mix
    root = _travel(p0, theta, np.cumsum(factor), person, scene, rng)
    style = person.style + mix[:, None] * (_RUN - person.style)
    return root, np.full(n, theta), style, np.zeros(n)


def _fall(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Falling to the ground (rotation to horizontal), lying still, then getting up."""
    n_fall = min(int(rng.integers(10, 18)), n // 4)
    n_up = min(int(rng.integers(18, 30)), n // 3)
    n_lie = n - n_fall - n_up
    side = np.sign(np.cos(theta)) if abs(np.cos(theta)) > 0.3 else rng.choice([-1.0, 1.0])
    down = side * rng.uniform(1.35, 1.5)
    t = np.arange(n, dtype=np.float64)
    tilt = np.where(t < n_fall, down * ((t + 1) / n_fall) ** 2, down)
    tilt = np.where(t >= n_fall + n_lie, down * (1 - _smoothstep((t - n_fall - n_lie + 1) / n_up)), tilt)
    tilt[n_fall:n_fall + n_lie] += rng.normal(0, 0.01, n_lie).cumsum() * 0.3
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    u = np.array([np.cos(theta), np.sin(theta)])
    slide = 0.15 * h0 * _smoothstep((t + 1) / n_fall)
    root = p0 + slide[:, None] * u + rng.normal(0, 0.3, (n, 2))
    lying = np.clip(np.abs(tilt) / abs(down), 0, 1)[:, None]
    style = person.style + lying * (_LIE - person.style)
    return root, np.full(n, theta), style, tilt


def _ar1(rng, n: int, rho: float, std: float, size=None) -> np.ndarray:
    """A stationary AR(1) series with coefficient ``rho`` and marginal ``std``."""
    shape = (n,) if size is None else (n, size)
    noise = rng.normal(0.0, std * math.sqrt(1 - rho * rho), shape)
    noise[0] /= math.sqrt(1 - rho * rho)
    return lfilter([1.0], [1.0, -rho], noise, axis=0)


def _wrap_to(angle: np.ndarray, target: float) -> np.ndarray:
    return target + (angle - target + np.pi) % (2 * np.pi) - np.pi


def _loiter(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Erratic loitering: a bounded random walk, turning in place, shuffling steps."""
    h0 = float(scene.person_height(np.array([p0[1]]), person.scale)[0])
    vel = _ar1(rng, n, 0.9, 0.9 * h0 / (_REF_HEIGHT * scene.height) * (_REF_FPS / scene.fps), 2)
    offset = lfilter([1.0], [1.0, -0.97], vel, axis=0)
    root = p0 + offset
    facing = theta + np.cumsum(_ar1(rng, n, 0.9, 0.09))
    settle = _smoothstep((np.arange(n) - (n - 10)) / 10.0)
    facing = facing + settle * (_wrap_to(np.array([theta]), facing[-1])[0] - facing[-1])
    mix = _ramp(n, min(6, max(1, n // 4)))[:, None]
    style = person.style + mix * (_SHUFFLE - person.style)
    return root, facing, style, np.zeros(n)


def _turn(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Stopping and turning round on the spot."""
    facing = theta + np.pi * rng.choice([-1.0, 1.0]) * _smoothstep((np.arange(n) + 1) / n)
    root = p0 + rng.normal(0, 0.3, (n, 2))
    style = np.tile(person.style + 0.6 * (_SHUFFLE - person.style), (n, 1))
    return root, facing, style, np.zeros(n)


def _wrong_way(p0, theta, n: int, person: _Person, scene: _Scene, rng) -> tuple:
    """Turning round, walking back against the flow, then turning round again."""
    n_turn = min(int(rng.integers(8, 15)), n // 4)
    first = _turn(p0, theta, n_turn, person, scene, rng)
    back = _walk(first[0][-1], theta + np.pi, n - 2 * n_turn, person, scene, rng)
    second = _turn(back[0][-1], theta + np.pi, n_turn, person, scene, rng)
    return tuple(np.concatenate(x) for x in zip(first, back, second, strict=True))


_SEGMENT = {"running": _run, "falling": _fall, "loitering": _loiter, "wrong_way": _wrong_way}
