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
            kwargs["image"] = [start] * count  # the pipeline takes an image per sample
        return kwargs
