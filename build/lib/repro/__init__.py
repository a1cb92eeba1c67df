"""repro: a harness that runs DVPO and its baselines on identical models and data.

The package never imports torch at import time: `repro --help`, `repro ls` and
`repro run --dry-run` work on a login node without the training stack.
"""

__version__ = "0.1.0"
