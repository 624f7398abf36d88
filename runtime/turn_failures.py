"""What the user is told when a turn cannot be answered, for any channel to use.

Rasa 3.6 answers most failures with silence: the REST channel returns `200 []` when the action
server is down or raises, when the conversation's lock cannot be had, and (after
FailSafeTrackerStore's fallback to memory) answers normally while the turn is lost. Here:

- the tracker store or the lock store is unreachable (`TrackerStoreUnavailable` from
  stores/fail_loud.py, `LockError` from the lock store), or the conversation is still busy with
  an earlier message for longer than the lock store waits: the turn is not processed, the user
  is asked to send the message again, and the status is 503 with Retry-After;
- a custom action fails, is unreachable or takes longer than ACTION_TIMEOUT seconds (default
  10; Rasa waits 300, longer than the conversation's lock lives): the bot says so in a reply
  that is stored with the turn, and the log names the action and the error's class, never the
  action server's body (rasa_sdk's 500 body quotes the tracker) nor the user's text.

`answering_in_time` is applied once at start-up for every channel (runtime/patches.py); a
channel that tells its users why a turn failed calls `answer(on_new_message, message)` in its
webhook (channels/rest.py does), which returns the HTTP status:

    status = await answer(on_new_message, UserMessage(text, collector, sender, ...))
    return response.json(collector.messages, status=status, headers=retry_after(status))
"""
import asyncio
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered, Event, SlotSet

from runtime import metrics

logger = logging.getLogger(__name__)


class TrackerStoreUnavailable(BaseException):
    """The tracker store could not be read or written, so the turn was not processed.

    A BaseException, like asyncio's CancelledError, so that Rasa's catch-all handlers
    (FailSafeTrackerStore's fallback to memory, the processor's, the channels') cannot swallow
    it: the turn stops and the channel that receives it answers "try again".
    """


class LockStoreUnreachable(LockError):
    """The lock store could not be asked: the turn is refused rather than run unlocked."""

ACTION_TIMEOUT = float(os.environ.get("ACTION_TIMEOUT") or 10)
RETRY_AFTER_SECONDS = 5

STORE_DOWN = ("Sorry, I can't reach my memory of our conversation right now, so I didn't take "
              "in your last message. Please send it again in a minute.")
STILL_BUSY = ("I'm still working on your previous message. Please send this one again in a "
              "moment.")
ACTION_FAILED = ("Sorry, something went wrong on my side while I was looking that up. Please "
                 "ask again in a moment.")
ACTION_TIMED_OUT = ("Sorry, looking that up took me too long. Please ask again in a moment.")


async def answer(on_new_message: Callable[[UserMessage], Awaitable[Any]],
                 message: UserMessage) -> int:
    """Runs a turn; on failure sends the user the reason to the message's output channel.
    Returns the HTTP status for the turn: 200, 503 when it was not processed for want of a
    store or the lock (send it again), 500 on any other error."""
    try:
        await on_new_message(message)
        return 200
    except TrackerStoreUnavailable:
        reply = STORE_DOWN
    except LockError as error:
        logger.warning("Turn refused, lock not acquired: %s", error)
        reply = STORE_DOWN if isinstance(error, LockStoreUnreachable) else STILL_BUSY
    except Exception as error:
        # Its class only: Rasa's errors may quote the message or the tracker.
        logger.error("Turn failed (%s)", error.__class__.__name__)
        await message.output_channel.send_text_message(message.sender_id, ACTION_FAILED)
        return 500
    # A turn whose store failed at its end has its answer collected already: sent with "I didn't
    # take in your last message" it reads as a contradiction, so only the reason goes out.
    collected = getattr(message.output_channel, "messages", None)
    if isinstance(collected, list):
        collected.clear()
    await message.output_channel.send_text_message(message.sender_id, reply)
    return 503


def retry_after(status: int) -> Dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}


def answering_in_time(unguarded_run: Callable, timeout: float = ACTION_TIMEOUT) -> Callable:
    """RemoteAction.run, for every channel: every custom action answers within `timeout`
    seconds (Rasa waits 300, longer than a conversation's lock lives), and one that fails or
    takes longer is answered with an apology stored with the turn."""
    async def run(self: RemoteAction, output_channel, nlg, tracker, domain) -> List[Event]:
        started = time.perf_counter()
        outcome = "failed"
        try:
            events = await asyncio.wait_for(
                unguarded_run(self, output_channel, nlg, tracker, domain), timeout)
            outcome = "ok"
            for event in events:
                if isinstance(event, SlotSet) and event.key == metrics.ANSWER_KIND_SLOT:
                    metrics.answer_kind(event.value)
            return events
        except ActionExecutionRejection:
            outcome = "ok"
            raise  # a form's way of letting another action run: not a failure
        except asyncio.TimeoutError:
            outcome = "timeout"
            metrics.answer_kind(metrics.FAILED)
            logger.error("Custom action %s took longer than %g s: answered with an apology",
                         self.name(), timeout)
            return [BotUttered(ACTION_TIMED_OUT)]
        except Exception as error:
            metrics.answer_kind(metrics.FAILED)
            cause = error.__cause__ or error
            status = getattr(cause, "status", None)
            logger.error("Custom action %s failed (%s%s): answered with an apology",
                         self.name(), cause.__class__.__name__,
                         f", status {status}" if status else "")
            return [BotUttered(ACTION_FAILED)]
        finally:
            metrics.ACTION_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    return run
