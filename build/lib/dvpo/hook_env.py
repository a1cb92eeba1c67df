"""The environment variables through which DVPO's policy stage configures its hooks inside OpenRLHF.

The method renders them (dvpo/method.py); the hooks and the frozen GVM actor read them in the Ray
processes (dvpo/openrlhf_hooks.py, dvpo/frozen_value.py). A module of their own, so rendering a stage
imports neither torch nor the hooks.
"""

MODE_ENV = "REPRO_DVPO_ADVANTAGE"  # gae_frozen_v | q_as_advantage
DIGEST_ENV = "REPRO_GVM_DIGEST"  # where the frozen GVM actor writes its parameter digests
VALUE_WHITENING_ENV = "REPRO_DVPO_VALUE_WHITENING"  # "official_chunk:<rows>" (unset: the batch, in the hook)
ADVANTAGE_WHITENING_ENV = "REPRO_DVPO_ADVANTAGE_WHITENING"  # "trl" (unset: OpenRLHF's own)
GVM_CONTEXT_ENV = "REPRO_DVPO_GVM_CONTEXT"  # "<k>:<budget>": trajectory conditioning in the frozen actor (unset: none)
FROZEN_MODELS_ENV = "REPRO_DVPO_FROZEN_MODELS"  # "one_process": reference and GVM share one actor (unset: separate)
