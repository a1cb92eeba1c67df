"""The GVM's section of a recipe (methods.dvpo.gvm): one pydantic model for the method that renders the stage
and for the trainer that runs it (dvpo/gvm/train.py reads it back from --gvm.config as JSON).

The optimiser and batch fields (TrainSpec's) reach the trainer as train_rm's own flags, rendered from this same
model by repro.stages.openrlhf.train_flags; the GVM fields below are read from the JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_serializer

from repro.spec import LoraSpec, TrainSpec, omit_when_default


class GVMConfig(TrainSpec):
    """Global value model pretraining (methods.dvpo.gvm); optimiser fields as for the reward model."""

    targets: Literal["td_lambda", "monte_carlo"] = Field("td_lambda", description="per-token regression targets")
    returns: Literal["preference", "reward_model"] = Field(
        "preference", description="sentence returns: +1 chosen / -1 rejected (official code), or the scores of the "
                                  "shared reward model (adds its stages; DVPO's policy stage still loads no RM)")
    head_init: Literal["zero", "normal"] = Field(
        "zero", description="value head start: zero (official code) or OpenRLHF's normal init, which lets a "
                            "small backbone learn from the first step")
    gamma: float = Field(1.0, gt=0, le=1, description="discount of the value targets")
    lambd: float = Field(0.95, ge=0, le=1, description="TD(lambda) mixing")
    inner_epochs: int = Field(2, gt=0, description="optimiser passes per batch with fixed targets")
    context_trajectories: int = Field(
        0, ge=0, description="trajectory conditioning (the paper's tau): k question-answer trajectories of the "
        "behaviour policy read as context before the prompt. Training draws them (seeded) from the SFT samples of "
        "the pairs stage, never with the scored sample's prompt; the frozen GVM actor from the other rollouts of "
        "the same micro-batch (the current policy's own trajectories). 0 = the official code (no context)")
    context_max_tokens: int = Field(128, gt=0, description="token budget of the context: whole trajectories are "
                                                           "added while they fit")
    lora: LoraSpec | None = Field(None, description="train the backbone as LoRA adapters and the value head in full "
                                                    "(as the official code does); the saved GVM is merged. None = "
                                                    "full fine-tuning")

    @model_serializer(mode="wrap")
    def _omit_context_when_off(self, handler):
        return omit_when_default(handler(self), self, "context_trajectories", "context_max_tokens", "lora")
