#!/usr/bin/env python3
"""A reference desk for Baton's webhook desk protocol, version 1 (docs/desks/webhook.md).

It plays one agent, Ada, for every chat: she joins at once, greets the customer with the
brief's first line, echoes what the customer writes, ends the chat as resolved when the
customer says "bye", and hands the customer back to the assistant on "hand back".

Standard library only. Run it beside `baton serve --config examples/webhook-desk/baton.toml`:

    DESK_SECRET=... python3 examples/webhook-desk/desk.py --port 8090 \
        --baton-url http://127.0.0.1:8080 --desk helpdesk
"""

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLAY_WINDOW = 300  # seconds a signature's timestamp may be from our clock
AGENT = {"id": "ada", "name": "Agent Ada"}
BYE = {"bye", "goodbye", "thanks, bye", "thank you, bye"}


def sign(secret, body, timestamp=None):
    """The Baton-Signature header: t=UNIX,v1=HMAC-SHA256(secret, "{t}.{body}")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret, header, body):
    """Whether the header signs this body, recently enough."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or abs(time.time() - timestamp) > REPLAY_WINDOW:
        return False
    expected = sign(secret, body, timestamp).split("v1=")[1]
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


class Desk:
    def __init__(self, baton_url, name, secret):
        self.webhook = f"{baton_url.rstrip('/')}/v1/desks/{name}/webhook"
        self.secret = secret
        self.seen = set()  # event ids received: Baton retries with the same id
        self.lock = threading.Lock()

    def send(self, chat_id, kind, data):
        """POSTs one event to Baton; retried with the same id if Baton is not there."""
        envelope = {
            "id": str(uuid.uuid4()),
            "version": 1,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "chat_id": chat_id,
            "type": kind,
            "data": data,
        }
        body = json.dumps(envelope).encode()
        for attempt in range(5):
            request = urllib.request.Request(self.webhook, data=body, method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header("Baton-Signature", sign(self.secret, body))
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code < 500:  # Baton refused this event: retrying will not help
                    print(f"desk: {kind} refused: {error.code} {error.read().decode()}", flush=True)
                    return None
            except OSError:
                pass
            time.sleep(0.2 * 2**attempt)
        print(f"desk: {kind} not delivered", flush=True)
        return None

    def say(self, chat_id, text):
        self.send(chat_id, "agent.message", {"message_id": str(uuid.uuid4()), "text": text, "agent": AGENT})

    def handle(self, event):
        """Plays the agent. Runs after Baton's call was answered."""
        chat_id, kind, data = event.get("chat_id"), event["type"], event.get("data") or {}
        if kind == "chat.requested":
            summary = data["brief"]["summary"].splitlines()[0]
            self.send(chat_id, "agent.joined", {"agent": AGENT})
            self.say(chat_id, f"Hello, I'm Ada. I see: {summary} How can I help?")
        elif kind == "customer.message":
            text = data["text"].strip()
            if text.lower().rstrip("!.") in BYE:
                self.say(chat_id, "Agent Ada: glad I could help. Goodbye!")
                self.send(chat_id, "chat.ended", {"disposition": "resolved"})
            elif text.lower().rstrip("!.") == "hand back":
                self.say(chat_id, "Agent Ada: I'm passing you back to the assistant.")
                self.send(chat_id, "chat.ended", {"disposition": "hand_back"})
            else:
                self.say(chat_id, f"Agent Ada: you said {text}")
        # customer.typing, customer.read and chat.ended_by_customer need no answer here.


def handler_for(desk):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not verify(desk.secret, self.headers.get("Baton-Signature"), body):
                return self.answer(401, {"error": "bad signature"})
            event = json.loads(body)
            with desk.lock:
                duplicate = event["id"] in desk.seen
                desk.seen.add(event["id"])
            self.answer(200, {"duplicate": duplicate})
            if not duplicate:
                # Answer Baton first, then act: what the agent does is a call of its own.
                threading.Thread(target=desk.handle, args=(event,), daemon=True).start()

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass  # quiet; customers' words stay out of the log

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DESK_PORT", "8090")))
    parser.add_argument("--baton-url", default=os.environ.get("BATON_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--desk", default=os.environ.get("DESK_NAME", "helpdesk"), help="the desk's name in Baton's config")
    parser.add_argument("--secret-env", default="DESK_SECRET", help="the environment variable holding the shared secret")
    args = parser.parse_args()
    secret = os.environ.get(args.secret_env)
    if not secret:
        parser.error(f"set {args.secret_env} to the shared secret")
    desk = Desk(args.baton_url, args.desk, secret.strip().encode())
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(desk))
    print(f"desk: listening on http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
