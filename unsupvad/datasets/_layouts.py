"""Skeleton layouts: COCO-17 (AlphaPose output) and OpenPose-18 (STG-NF input).

Plain constants, so that graph code can import them without loading any
reader, plus :func:`coco17_to_openpose18`, the conversion STG-NF applies to
AlphaPose keypoints.
"""

from __future__ import annotations

import numpy as np

COCO17_JOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

OPENPOSE18_JOINTS: tuple[str, ...] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)

COCO17_NECK_FROM: tuple[int, int] = (5, 6)
"""COCO-17 joints (the two shoulders) whose mean is the appended neck, index 17."""

COCO18_TO_OPENPOSE18: tuple[int, ...] = (0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
"""OpenPose-18 joint ``j`` is joint ``COCO18_TO_OPENPOSE18[j]`` of COCO-17 plus the neck (17)."""

OPENPOSE18_BONES: tuple[tuple[int, int], ...] = (
    (4, 3),
    (3, 2),
    (7, 6),
    (6, 5),
    (13, 12),
    (12, 11),
    (10, 9),
    (9, 8),
    (11, 5),
    (8, 2),
    (5, 1),
    (2, 1),
    (0, 1),
    (15, 0),
    (14, 0),
    (17, 15),
    (16, 14),
)
"""The 17 bones of ST-GCN's ``openpose`` layout as used by STG-NF (hips join the shoulders)."""

LAYOUT_JOINTS: dict[str, tuple[str, ...]] = {"coco17": COCO17_JOINTS, "openpose18": OPENPOSE18_JOINTS}


def coco17_to_openpose18(points) -> np.ndarray:
    """Convert COCO-17 keypoints to OpenPose-18 as STG-NF does.

    Parameters
    ----------
    points : array-like of shape (..., 17, C)
        COCO-17 joints, usually ``C = 3`` channels ``(x, y, confidence)``.

    Returns
    -------
    ndarray of shape (..., 18, C)
        The neck (mean of the two shoulders, on every channel, confidence
        included) is appended as joint 17, then the joints are reordered with
        :data:`COCO18_TO_OPENPOSE18`.
    """
    points = np.asarray(points)
    if points.ndim < 2 or points.shape[-2] != len(COCO17_JOINTS):
        raise ValueError(f"COCO-17 keypoints must have shape (..., 17, C), got {points.shape}")
    left, right = COCO17_NECK_FROM
    neck = (points[..., left, :] + points[..., right, :]) / 2
    coco18 = np.concatenate([points, neck[..., None, :].astype(points.dtype)], axis=-2)
    return coco18[..., list(COCO18_TO_OPENPOSE18), :]
