"""DVPO: a frozen, pretrained global value model (GVM) guides PPO-style policy optimisation.

- `advantage`: the maths (GVM targets, frozen-value advantages) as pure torch functions;
- `gvm/`: GVM pretraining on preference data (OpenRLHF's critic model and DeepSpeed strategy);
- `frozen_value`: the frozen GVM as a Ray actor that takes the critic's place;
- `openrlhf_hooks`: the two private hooks into OpenRLHF 0.11.2's Ray PPO, in one module;
- `method`: the `dvpo` registry entry.
"""
