"""A fake of the system behind Rasa's callback channel: it takes the bot's replies, but refuses
them (503) for a recipient whose id starts with "refuse-" and drops the connection unanswered
for one starting with "drop-".

    python harness/fakes/callback_receiver.py PORT
"""
from recorder import DROP, serve


def answer(path, headers, params):
    recipient = str(params.get("recipient_id", ""))
    if recipient.startswith("refuse-"):
        return 503, {"error": "busy"}
    if recipient.startswith("drop-"):
        return DROP, None
    return 200, {"ok": True}


if __name__ == "__main__":
    serve(answer)
