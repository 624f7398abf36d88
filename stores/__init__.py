"""Tracker and lock stores the assistant plugs into Rasa (endpoints.yml names them by module path)."""
