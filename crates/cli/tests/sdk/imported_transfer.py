"""Drives an assistant imported from a Watson export to its transfer with the real ibm-watson SDK.

Usage: python3 imported_transfer.py URL KEY ASSISTANT_ID ASK EXPECTED_TEXT EXPECTED_ONLINE EXPECTED_OFFLINE

ASK is what the customer says; EXPECTED_TEXT is the Fallback's text for an agent request in the
export, EXPECTED_ONLINE and EXPECTED_OFFLINE its connect_to_agent responses. Exits non-zero with a
message on the first difference.
"""

import sys

from ibm_cloud_sdk_core.authenticators import BasicAuthenticator
from ibm_watson import AssistantV2


def main():
    url, key, assistant_id, ask, text, online, offline = sys.argv[1:8]
    assistant = AssistantV2(version="2024-08-25", authenticator=BasicAuthenticator("apikey", key))
    assistant.set_service_url(url)

    session = assistant.create_session(assistant_id=assistant_id, environment_id="draft")
    assert session.get_status_code() == 201, session.get_status_code()
    session_id = session.get_result()["session_id"]

    greeting = assistant.message(
        assistant_id=assistant_id, environment_id="draft", session_id=session_id, input={"text": ""}
    ).get_result()
    assert greeting["output"]["generic"], greeting

    reply = assistant.message(
        assistant_id=assistant_id,
        environment_id="draft",
        session_id=session_id,
        input={"message_type": "text", "text": ask},
    ).get_result()
    generic = reply["output"]["generic"]
    texts = [item["text"] for item in generic if item["response_type"] == "text"]
    assert text in texts, generic
    transfers = [item for item in generic if item["response_type"] == "connect_to_agent"]
    assert len(transfers) == 1, generic
    transfer = transfers[0]
    assert transfer["agent_available"]["message"] == online, transfer
    assert transfer["agent_unavailable"]["message"] == offline, transfer
    print("imported assistant reached the transfer")


if __name__ == "__main__":
    main()
