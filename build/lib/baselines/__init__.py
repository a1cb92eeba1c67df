"""Baselines rendered as OpenRLHF commands: one file per method, one registry line each."""
