"""The one place the OpenRLHF release is pinned.

The CPU layer patches that release's call sites and the command builders render its flags, so
everything that names the version (the Makefile's install, install hints, the CPU layer's check)
reads it from here.
"""

OPENRLHF_VERSION = "0.11.2"
