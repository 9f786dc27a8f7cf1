"""LTX-Video 0.9.x: the fastest family, for draft tiers; text, start frame, start + end frame.

First + last frame uses LTXConditionPipeline (LTX-Video 0.9.5 and later) with the images pinned to
frame 0 and to the last frame the model makes.
"""

from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from PIL import Image

from reelforge.engines.diffusers_common import DiffusersEngine, Plan
from reelforge.engines.diffusers_options import FAMILIES


class LTXEngine(DiffusersEngine):
    family = FAMILIES["ltx"]

    def mode_kwargs(
        self, pipe, plan: Plan, start: Image.Image | None, end: Image.Image | None, count: int
    ) -> dict:
        kwargs: dict = {"frame_rate": plan.native_fps}
        if end is not None:
            kwargs["conditions"] = [
                LTXVideoCondition(image=start, frame_index=0),
                LTXVideoCondition(image=end, frame_index=plan.num_frames - 1),
            ]
        elif start is not None:
            kwargs["image"] = start
        return kwargs

    def _call_kwargs(self, pipe, plan: Plan, prompt: str, start, end, count: int) -> dict:
        kwargs = super()._call_kwargs(pipe, plan, prompt, start, end, count)
        if count > 1 and pipe.vae.config.timestep_conditioning:
            # diffusers 0.42 repeats a single decode timestep (and noise scale) once per prompt, not
            # once per video: a batch needs one per sample
            for name in ("decode_timestep", "decode_noise_scale"):
                value = kwargs.get(name, 0.0 if name == "decode_timestep" else None)
                if value is not None and not isinstance(value, list):
                    kwargs[name] = [value] * count
        return kwargs
