"""The advisor end to end over REST (as tests/integration/test_conversation.py): whole conversations with the
trained model, the action server and the form."""
from test_conversation import buttons, new_user, reply_text


def test_a_business_owner_is_guided_to_a_recommendation_with_a_question_on_the_way(assistant):
    user = new_user()
    opening = assistant.send(user, "which is better kpo or bpo?")
    text = reply_text(opening)
    assert "It depends on who is asking and why" in text  # still answered directly
    offer = [b for b in buttons(opening) if b["title"] == "Yes, help me decide"]
    assert offer, "the advisor is offered"

    assert "business" in reply_text(assistant.send(user, offer[0]["payload"]))
    question = assistant.send(user, "For a business")
    assert "What do you want to outsource" in reply_text(question)
    assert "Routine processes" in [b["title"] for b in buttons(question)]

    # A question in the middle is answered, and the advisor asks its question again.
    aside = reply_text(assistant.send(user, "what is kpo?"))
    assert "Knowledge Process Outsourcing" in aside and "What do you want to outsource" in aside

    assert "What matters more" in reply_text(assistant.send(user, "mostly customer care and data entry"))
    assert "main concern" in reply_text(assistant.send(user, "Saving cost and scaling"))
    answer = assistant.send(user, "data security")
    text = reply_text(answer)
    assert text.startswith("My recommendation for your business: BPO.")
    assert "cost savings, scalability" in text and "stringent security measures" in text
    assert "Source: “BPO vs KPO: Understanding the Key Differences”" in text
    assert "Start the advisor again" in [b["title"] for b in buttons(answer)]

    # The conversation goes on from the recommendation: "its risks" are BPO's.
    assert "service provider" in reply_text(assistant.send(user, "what are its risks?"))


def test_a_job_seeker_corrects_an_answer_and_hears_what_the_sources_do_not_cover(assistant):
    user = new_user()
    assistant.send(user, "help me decide")
    assert "What did you study" in reply_text(assistant.send(user, "for my career"))
    assert "What do you enjoy" in reply_text(assistant.send(user, "just a BA"))
    unclear = reply_text(assistant.send(user, "hmm dunno"))
    assert unclear.startswith("Sorry, I didn't catch that") and "What do you enjoy" in unclear
    changed = reply_text(assistant.send(user, "actually I studied law"))
    assert "Your background: law" in changed and "What do you enjoy" in changed
    assert "language skills" in reply_text(assistant.send(user, "research and analysis"))
    text = reply_text(assistant.send(user, "my english is pretty good"))
    assert text.startswith("For your career, KPO looks like the better fit.")
    assert "legal services" in text and "good knowledge of the language" in text
    assert "My sources don't cover salary figures for KPO." in text


def test_the_advisor_can_be_declined_or_stopped(assistant):
    user = new_user()
    assistant.send(user, "bpo or kpo, which is best?")
    assert "No problem" in reply_text(assistant.send(user, "no thanks"))

    user = new_user()
    assistant.send(user, "help me decide")
    assistant.send(user, "for a business")
    assert "stopped" in reply_text(assistant.send(user, "stop"))
    # Stopped means stopped: the next message is an ordinary question again.
    text = reply_text(assistant.send(user, "routine processes"))
    assert "What matters more" not in text
