"""What the user chose: the ViT's shape, as one frozen, hashable, self-checking dataclass.

The config doubles as a cache key (it is hashable) and refuses settings that cannot build a
model, with a message that names the values, so the page can show it and keep running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import CodedError

MAX_TOKENS = 16384  # most patch tokens N = Gh*Gw a model may have: 128×128 (P = 2 at 224 px is 12,544)
MAX_EMBED_DIM = 2048  # widest embedding offered; ViT-H/14 uses 1280
MAX_DEPTH = 24  # ViT-L has 24 blocks
MAX_SEED = 2**31 - 1
MAX_REG_TOKENS = 64  # Darcet et al. try up to 16 registers


class ConfigError(CodedError):
    """Settings that cannot build a ViT. ``code`` and ``fields`` let a page translate it."""


@dataclass(frozen=True, kw_only=True)
class ViTConfig:
    """Shape of a Vision Transformer (Dosovitskiy et al. 2020, arXiv 2010.11929)."""

    img_size: tuple[int, int]  # (H, W) of the model's input in pixels
    patch_size: int  # P: Conv2d kernel size and stride, each patch is P×P pixels
    embed_dim: int  # D: length of each token vector, the Conv2d's out_channels
    depth: int  # number of Transformer encoder blocks
    num_heads: int  # nh: attention heads per block; D must divide evenly into them
    in_chans: int = 3  # C: input channels (RGB)
    mlp_ratio: float = 4.0  # width of each block's MLP hidden layer, as a multiple of D (timm's name)
    mlp_dim: int = 0  # that width as an integer (HF's intermediate_size); 0 = round(D·mlp_ratio). It wins:
    # a checkpoint's 230 at D = 56 stays 230 (int(56 · (230 / 56)) would be 229)
    num_classes: int = 10  # size of the classification head; 0 = no head (as DINO)
    seed: int = 0  # seed of the random initialisation
    layer_norm_eps: float = field(default=1e-6)  # LayerNorm epsilon (timm and ViT use 1e-6)
    # Prefix tokens, in sequence order CLS, DIST, registers, then the N patches (timm's names):
    dist_token: bool = False  # DeiT's distillation token after CLS, with a position embedding
    # (Touvron et al. 2021, "Training data-efficient image transformers", arXiv 2012.12877)
    head_dist: bool = False  # DeiT distilled: a second head on DIST, averaged with the CLS head at inference
    # (transformers' DeiTForImageClassificationWithTeacher); DeiTForImageClassification reads CLS only
    reg_tokens: int = 0  # register tokens after CLS/DIST, without a position embedding (Darcet et al. 2024,
    # "Vision Transformers Need Registers", arXiv 2309.16588; DINOv2 with registers uses 4)
    init_values: float | None = None  # LayerScale (Touvron et al. 2021, CaiT): each branch's output times a
    # learned per-channel ``gamma`` starting at this value (DINOv2); None = no LayerScale

    def __post_init__(self) -> None:
        # A tuple from JSON or a list from a widget both become the hashable (H, W).
        object.__setattr__(self, "img_size", tuple(int(v) for v in self.img_size))
        for error in self._errors():
            raise error
        if self.mlp_dim <= 0:
            object.__setattr__(self, "mlp_dim", max(1, round(self.embed_dim * self.mlp_ratio)))
        object.__setattr__(self, "mlp_ratio", self.mlp_dim / self.embed_dim)  # one config, one ratio

    def _errors(self):
        H, W = self.img_size if len(self.img_size) == 2 else (0, 0)
        P, D, nh = self.patch_size, self.embed_dim, self.num_heads
        if len(self.img_size) != 2 or H < 1 or W < 1:
            yield ConfigError(
                "size", f"image size {self.img_size} must be two positive numbers (H, W)", size=self.img_size
            )
            return
        if P < 1:
            yield ConfigError("patch_min", f"patch size {P} must be at least 1", P=P)
            return
        if P > min(H, W):
            yield ConfigError(
                "patch_max",
                f"patch size {P} is larger than the image ({H}×{W}): choose P ≤ {min(H, W)}",
                P=P,
                H=H,
                W=W,
                max=min(H, W),
            )
        if H % P or W % P:
            lo, hi = f"{H - H % P}×{W - W % P}", f"{H + (-H) % P}×{W + (-W) % P}"
            yield ConfigError(
                "multiple",
                f"image size {H}×{W} is not a multiple of the patch size {P}: use e.g. {lo} or {hi}",
                H=H,
                W=W,
                P=P,
                lo=lo,
                hi=hi,
            )
        Gh, Gw = H // P, W // P
        if Gh * Gw > MAX_TOKENS:
            yield ConfigError(
                "tokens",
                f"{Gh}×{Gw} = {Gh * Gw} patches is more than the limit of {MAX_TOKENS} "
                f"tokens: use a patch size of at least {_smallest_patch(H, W)} or a smaller image",
                Gh=Gh,
                Gw=Gw,
                N=Gh * Gw,
                max=MAX_TOKENS,
                P_min=_smallest_patch(H, W),
            )
        if not 1 <= D <= MAX_EMBED_DIM:
            yield ConfigError("dim", f"embedding dim {D} must be between 1 and {MAX_EMBED_DIM}", D=D, max=MAX_EMBED_DIM)
        if nh < 1:
            yield ConfigError("heads_min", f"number of heads {nh} must be at least 1", nh=nh)
        elif D % nh:
            yield ConfigError(
                "heads_divide", f"embedding dim {D} must be divisible by the number of heads {nh}", D=D, nh=nh
            )
        if not 1 <= self.depth <= MAX_DEPTH:
            yield ConfigError(
                "depth", f"depth {self.depth} must be between 1 and {MAX_DEPTH}", depth=self.depth, max=MAX_DEPTH
            )
        if self.in_chans < 1:
            yield ConfigError("other", f"input channels {self.in_chans} must be at least 1")
        if self.mlp_ratio <= 0 or self.mlp_dim < 0:
            yield ConfigError("other", f"MLP ratio {self.mlp_ratio} and width {self.mlp_dim} must be positive")
        if not 0 <= self.reg_tokens <= MAX_REG_TOKENS:
            yield ConfigError("other", f"register tokens {self.reg_tokens} must be between 0 and {MAX_REG_TOKENS}")
        if self.head_dist and not (self.dist_token and self.num_classes):
            yield ConfigError("other", "a distillation head needs a distillation token and a classification head")
        if self.num_classes < 0:
            yield ConfigError("other", f"number of classes {self.num_classes} must be 0 (no head) or more")
        if not 0 <= self.seed <= MAX_SEED:
            yield ConfigError(
                "seed", f"seed {self.seed} must be between 0 and {MAX_SEED}", seed=self.seed, max=MAX_SEED
            )

    @property
    def grid(self) -> tuple[int, int]:
        """(Gh, Gw): how many patches fit down and across the image."""
        H, W = self.img_size
        return H // self.patch_size, W // self.patch_size

    @property
    def num_patches(self) -> int:
        """N = Gh·Gw, the number of patch tokens (CLS not counted)."""
        Gh, Gw = self.grid
        return Gh * Gw

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens before the patches: CLS, DIST (DeiT), then the registers (timm's name)."""
        return 1 + int(self.dist_token) + self.reg_tokens

    @property
    def embed_len(self) -> int:
        """Rows of ``pos_embed``: CLS, DIST and the N patches carry one; registers do not (timm's name)."""
        return 1 + int(self.dist_token) + self.num_patches

    @property
    def num_tokens(self) -> int:
        """T, the sequence length the encoder sees: prefix tokens plus N patches."""
        return self.num_prefix_tokens + self.num_patches

    def prefix_names(self) -> list[str]:
        """The prefix tokens' short names in sequence order: ``CLS``, ``DIST``, ``REG1`` … ``REGr``."""
        return ["CLS", *(["DIST"] if self.dist_token else []), *(f"REG{i + 1}" for i in range(self.reg_tokens))]

    def prefix_summary(self) -> str:
        """The prefix tokens in a few characters: ``CLS``, ``CLS, DIST``, ``CLS, 4 REG``."""
        return ", ".join(
            ["CLS", *(["DIST"] if self.dist_token else []), *([f"{self.reg_tokens} REG"] if self.reg_tokens else [])]
        )

    def token_index(self, r: int, c: int) -> int:
        """Sequence index of patch (r, c): ``num_prefix_tokens + r·Gw + c``."""
        return self.num_prefix_tokens + r * self.grid[1] + c

    def token_cell(self, index: int) -> tuple[int, int] | None:
        """The grid cell (r, c) of token ``index``, or None for a prefix token (the inverse of ``token_index``)."""
        first = self.num_prefix_tokens
        return divmod(index - first, self.grid[1]) if index >= first else None

    @property
    def head_dim(self) -> int:
        """hs = D / nh, the width of one attention head."""
        return self.embed_dim // self.num_heads


def _smallest_patch(H: int, W: int) -> int:
    """Smallest P whose (H // P)·(W // P) grid stays within MAX_TOKENS."""
    return next(P for P in range(1, min(H, W) + 1) if (H // P) * (W // P) <= MAX_TOKENS)


def count_parameters(cfg: ViTConfig) -> int:
    """Number of parameters of the model ``cfg`` describes, without building it."""
    D, C, P = cfg.embed_dim, cfg.in_chans, cfg.patch_size
    embed = D * C * P * P + D + cfg.num_prefix_tokens * D + cfg.embed_len * D  # conv, prefix tokens, position
    attn = (D * 3 * D + 3 * D) + (D * D + D)  # qkv, proj
    mlp = (D * cfg.mlp_dim + cfg.mlp_dim) + (cfg.mlp_dim * D + D)  # fc1, fc2
    block = 2 * (2 * D) + attn + mlp + (2 * D if cfg.init_values is not None else 0)  # two LayerNorms, LayerScale
    head = (D * cfg.num_classes + cfg.num_classes) * (1 + int(cfg.head_dist)) if cfg.num_classes else 0
    return embed + cfg.depth * block + 2 * D + head


def shape_strip(cfg: ViTConfig) -> list[tuple[str, tuple[int, ...], dict]]:
    """The patch embedding and encoder as (step, shape, fields) from image to attention.

    Steps are translation keys (``strip_*``); shapes leave out the batch axis.
    """
    H, W = cfg.img_size
    Gh, Gw = cfg.grid
    N, D, nh, T = cfg.num_patches, cfg.embed_dim, cfg.num_heads, cfg.num_tokens
    return [
        ("strip_image", (cfg.in_chans, H, W), {}),
        ("strip_conv", (), {"P": cfg.patch_size}),
        ("strip_grid", (D, Gh, Gw), {}),
        ("strip_flatten", (), {}),
        ("strip_tokens", (N, D), {}),
        ("strip_cls_pos", (), {"prefix": cfg.prefix_summary()}),
        ("strip_sequence", (T, D), {}),
        ("strip_encoder", (), {"depth": cfg.depth}),
        ("strip_attention", (nh, T, T), {}),
    ]
