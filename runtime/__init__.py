"""Rasa 3.6.21 as the assistant runs it: `python -m runtime run ...` is `rasa run ...` with the
fixes of runtime/patches.py applied first."""
