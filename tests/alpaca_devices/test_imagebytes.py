"""ASCOM ImageBytes decoding: header fields, element types, and the [x][y] -> [y, x] turn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpaca_devices.camera import decode_imagebytes


def _payload(image_yx: np.ndarray, transmission: int, error: int = 0, message: bytes = b""):
    ny, nx = image_yx.shape
    header = np.array([1, error, 0, 0, 44, 2, transmission, 2, nx, ny, 0], dtype="<i4")
    body = message if error else image_yx.T.astype(image_yx.dtype.newbyteorder("<")).tobytes()
    return header.tobytes() + body


@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.sampled_from([(1, np.int16), (2, np.int32), (8, np.uint16), (3, np.float64)]),
)
def test_decodes_any_shape_and_type_to_y_x(ny, nx, kind):
    code, dtype = kind
    image = (np.arange(ny * nx).reshape(ny, nx) * 3).astype(dtype)
    decoded = decode_imagebytes(_payload(image, code))
    assert decoded.shape == (ny, nx)
    assert np.array_equal(decoded, image)


def test_error_and_truncated_answers_are_refused():
    with pytest.raises(ValueError, match="0x40B: not ready"):
        decode_imagebytes(_payload(np.zeros((2, 2), np.uint16), 8, 0x40B, b"not ready"))
    whole = _payload(np.zeros((4, 4), np.uint16), 8)
    with pytest.raises(ValueError, match="holds 8 pixels"):
        decode_imagebytes(whole[:-16])
    with pytest.raises(ValueError, match="too short"):
        decode_imagebytes(whole[:20])
