"""Wan 2.1 / 2.2: text, start frame and start + end frame video, no sound.

WanPipeline renders text; WanImageToVideoPipeline renders a start frame, and start + end through
`last_image`. The Wan 2.2 TI2V-5B checkpoint does text and start frame from one set of weights,
but diffusers ignores `last_image` for it (its image conditioning is the first latent frame
only), so start + end needs FLF2V or I2V-A14B weights, mapped under `weights.frames`. Wan's VAE
is kept in float32, as the Wan docs in diffusers advise, whatever the transformer's dtype.
"""

import torch
from PIL import Image

from reelforge.engines.diffusers_common import DiffusersEngine, EngineUnavailable, LoadKey, Plan
from reelforge.engines.diffusers_options import FAMILIES


class WanEngine(DiffusersEngine):
    family = FAMILIES["wan"]

    def size_multiple(self, pipe) -> int:
        transformer = pipe.transformer or pipe.transformer_2
        return pipe.vae_scale_factor_spatial * transformer.config.patch_size[1]

    def mode_kwargs(
        self, pipe, plan: Plan, start: Image.Image | None, end: Image.Image | None, count: int
    ) -> dict:
        if end is not None and pipe.config.expand_timesteps:
            raise EngineUnavailable(
                f"{self.model}: these Wan weights (TI2V-5B style) cannot take an end frame; "
                "map engine_options.weights.frames to FLF2V or I2V-A14B weights"
            )
        kwargs: dict = {}
        if start is not None:
            kwargs["image"] = start
        if end is not None:
            kwargs["last_image"] = end
        return kwargs

    def _torch_dtype(self, key: LoadKey) -> dict:
        return {"default": super()._torch_dtype(key), "vae": torch.float32}
