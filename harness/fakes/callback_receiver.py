"""A fake of the system behind Rasa's callback channel: it takes the bot's replies.

    python harness/fakes/callback_receiver.py PORT
"""
from recorder import serve

if __name__ == "__main__":
    serve(lambda path, headers, params: (200, {"ok": True}))
