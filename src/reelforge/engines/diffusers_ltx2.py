"""LTX-2: text, start frame and start + end frame video with its own soundtrack.

LTX-2 denoises video and audio together, so its waveform (from the pipeline's vocoder) is the
clip's audio: the shared code resamples it to 48 kHz and the encoder pads or trims it to the
video's exact length. First + last frame uses LTX2ConditionPipeline with the end image pinned to
the last frame (index -1).
"""

import numpy as np
from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition
from PIL import Image

from reelforge.engines.diffusers_common import DiffusersEngine, Plan
from reelforge.engines.diffusers_options import FAMILIES


class LTX2Engine(DiffusersEngine):
    family = FAMILIES["ltx2"]

    def mode_kwargs(
        self, pipe, plan: Plan, start: Image.Image | None, end: Image.Image | None, count: int
    ) -> dict:
        kwargs: dict = {"frame_rate": float(plan.native_fps)}
        if end is not None:
            kwargs["conditions"] = [
                LTX2VideoCondition(frames=start, index=0),
                LTX2VideoCondition(frames=end, index=-1),
            ]
        elif start is not None:
            kwargs["image"] = start
        return kwargs

    def audio(self, pipe, output, index: int) -> tuple[np.ndarray, int]:
        waveform = output.audio[index].float().cpu().numpy()  # (channels, samples)
        return np.clip(waveform, -1.0, 1.0), int(pipe.vocoder.config.output_sampling_rate)
