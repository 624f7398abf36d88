"""runtime/turn_failures.py's reply when a turn's store fails after its answer was collected."""
import asyncio

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from runtime.turn_failures import STORE_DOWN, TrackerStoreUnavailable, answer


def test_a_turn_whose_store_fails_at_its_end_gets_only_the_store_down_reply():
    output = CollectingOutputChannel()

    async def turn(message: UserMessage) -> None:
        await output.send_text_message(message.sender_id, "KPO is Knowledge Process Outsourcing")
        raise TrackerStoreUnavailable("tracker store write failed")  # the save at the turn's end

    status = asyncio.run(answer(turn, UserMessage("what is kpo", output, "u")))
    assert status == 503 and [m["text"] for m in output.messages] == [STORE_DOWN]
