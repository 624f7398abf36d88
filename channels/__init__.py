"""Rasa channel connectors for the messaging platforms operators embed the assistant in.

Each module subclasses one of Rasa 3.6's own connectors and changes only what this project
needs; credentials.yml and environment.yml name them by module path (envtemplate.py).
"""
