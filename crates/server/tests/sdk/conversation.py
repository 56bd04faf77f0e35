"""Drives a whole conversation to a transfer with the real ibm-watson Python SDK.

Usage: python3 conversation.py URL KEY

Runs twice: authenticated with BasicAuthenticator('apikey', KEY) and with
BearerTokenAuthenticator(KEY). Exits non-zero with a message on the first failure.
"""

import sys

from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from ibm_watson import AssistantV2


def converse(url, authenticator, label):
    assistant = AssistantV2(version="2024-08-25", authenticator=authenticator)
    assistant.set_service_url(url)

    session = assistant.create_session(assistant_id="bank", environment_id="draft")
    assert session.get_status_code() == 201, session.get_status_code()
    session_id = session.get_result()["session_id"]

    greeting = assistant.message(
        assistant_id="bank", environment_id="draft", session_id=session_id, input={"text": ""}
    ).get_result()
    assert greeting["output"]["generic"], greeting

    reply = assistant.message(
        assistant_id="bank",
        environment_id="draft",
        session_id=session_id,
        input={
            "message_type": "text",
            "text": "I want to pay my bill",
            "options": {"return_context": True, "debug": True},
        },
        user_id="sdk-user",
    ).get_result()
    generic = reply["output"]["generic"]
    transfers = [item for item in generic if item["response_type"] == "connect_to_agent"]
    assert len(transfers) == 1, generic
    transfer = transfers[0]
    assert transfer["agent_available"]["message"] == "Let's send you to an available agent", transfer
    assert transfer["transfer_info"]["target"]["baton"]["queue"] == "billing", transfer
    assert reply["context"]["global"]["system"]["turn_count"] == 1, reply["context"]
    assert reply["user_id"] == "sdk-user", reply
    finished = [e for e in reply["output"]["debug"]["turn_events"] if e["event"] == "action_finished"]
    assert finished and finished[0]["reason"] == "connect_to_agent", reply["output"]["debug"]

    # The typed models accept the response.
    from ibm_watson.assistant_v2 import StatefulMessageResponse

    model = StatefulMessageResponse.from_dict(reply)
    assert model.output.generic[-1].response_type == "connect_to_agent"

    stateless = assistant.message_stateless(
        assistant_id="bank", environment_id="live", input={"text": "I want to pay my bill"}
    ).get_result()
    assert stateless["output"]["generic"][-1]["response_type"] == "connect_to_agent", stateless

    assistant.delete_session(assistant_id="bank", environment_id="draft", session_id=session_id)
    try:
        assistant.message(
            assistant_id="bank", environment_id="draft", session_id=session_id, input={"text": "hello"}
        )
        raise AssertionError("a deleted session must be refused")
    except ApiException as error:
        assert error.code == 404, error
        assert error.message == "Invalid Session", error.message
    print(f"{label}: conversation reached the transfer")


def main():
    url, key = sys.argv[1], sys.argv[2]
    converse(url, BasicAuthenticator("apikey", key), "basic")
    converse(url, BearerTokenAuthenticator(key), "bearer")

    unauthenticated = AssistantV2(version="2024-08-25", authenticator=BearerTokenAuthenticator("baton_wrong"))
    unauthenticated.set_service_url(url)
    try:
        unauthenticated.create_session(assistant_id="bank", environment_id="draft")
        raise AssertionError("a wrong key must be refused")
    except ApiException as error:
        assert error.code == 401, error
    print("ok")


if __name__ == "__main__":
    main()
