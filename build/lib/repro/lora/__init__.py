"""LoRA-trained models in a pipeline whose every consumer reads full Hugging Face models.

OpenRLHF trains adapters through PEFT (--ds.lora.*) and saves the adapter alone. Two things follow, both
handled here: the rollout engine must get whole weights under its own names (repro/lora/sync.py, a hook in the
actor's weight sync), and a merge stage (repro/lora/merge.py) writes base + adapter as one model for evaluation.
"""

SYNC_HOOK = "repro.lora.sync:install"
