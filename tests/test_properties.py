"""Property-based tests (hypothesis): any settings give a valid model whose grid is the formula,
or a ValueError that names the bad value; every fit policy gives exactly the asked size."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vizlib.config import MAX_TOKENS, ConfigError, ViTConfig, count_parameters
from vizlib.image import FIT_POLICIES, SNAP_POLICIES, fit_image, snap_size

sizes = st.integers(min_value=-2, max_value=600)


@settings(max_examples=300, deadline=None)
@given(H=sizes, W=sizes, P=st.integers(-1, 80), D=st.integers(-1, 3000), heads=st.integers(-1, 20),
       depth=st.integers(-1, 30))  # fmt: skip
def test_config_is_valid_with_the_formula_grid_or_names_the_bad_value(H, W, P, D, heads, depth):
    try:
        cfg = ViTConfig(img_size=(H, W), patch_size=P, embed_dim=D, depth=depth, num_heads=heads)
    except ConfigError as err:
        message = str(err)
        named = {"size": f"{(H, W)}", "patch_min": f"{P}", "patch_max": f"{P}", "multiple": f"{P}",
                 "tokens": f"{MAX_TOKENS}", "dim": f"{D}", "heads_min": f"{heads}", "heads_divide": f"{heads}",
                 "depth": f"{depth}"}  # fmt: skip
        assert err.code in named and named[err.code] in message, (err.code, message)
        return
    assert cfg.grid == (H // P, W // P) and H % P == 0 and W % P == 0
    assert cfg.num_patches <= MAX_TOKENS and D % heads == 0 and cfg.num_patches >= 1
    assert count_parameters(cfg) > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=st.integers(1, 300), h=st.integers(1, 300), H=st.integers(1, 200), W=st.integers(1, 200),
       policy=st.sampled_from(FIT_POLICIES))  # fmt: skip
def test_every_fit_policy_gives_exactly_the_asked_size(w, h, H, W, policy):
    out = fit_image(Image.new("RGB", (w, h), (10, 200, 30)), (H, W), policy)
    assert out.size == (W, H) and out.mode == "RGB"


@settings(max_examples=300, deadline=None)
@given(H=st.integers(1, 500), W=st.integers(1, 500), P=st.integers(1, 64), policy=st.sampled_from(SNAP_POLICIES))
def test_snapping_gives_multiples_of_p_by_its_formula(H, W, P, policy):
    try:
        H2, W2 = snap_size(H, W, P, policy)
    except ValueError as err:
        assert policy == "crop" and min(H, W) < P and f"P = {P}" in str(err)
        return
    assert H2 % P == 0 and W2 % P == 0 and H2 >= P and W2 >= P
    if policy == "crop":
        assert (H2, W2) == (H // P * P, W // P * P)
    elif policy == "pad":
        assert 0 <= H2 - H < P and 0 <= W2 - W < P
    else:
        assert abs(H2 - H) <= P / 2 + 0.5 * (H < P) * P and abs(W2 - W) <= P / 2 + 0.5 * (W < P) * P


def test_config_errors_are_value_errors():
    with pytest.raises(ValueError):
        ViTConfig(img_size=(10, 10), patch_size=3, embed_dim=8, depth=1, num_heads=1)
