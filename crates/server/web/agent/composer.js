/*
 * Writing to the customer: sending a message (shown at once, confirmed or taken back when the
 * server answers) and telling the customer the agent is typing.
 */
import { state, TYPING_IDLE_MS } from "./state.js";
import { $, el, showBanner } from "./dom.js";
import { api, problem, send } from "./api.js";
import { addEntry } from "./chats.js";
import { isRead } from "./transcript.js";

const typing = { transfer: null, timer: null };

export function stopTyping() {
  clearTimeout(typing.timer);
  if (typing.transfer) send({ type: "typing", transfer: typing.transfer, typing: false });
  typing.transfer = null;
}

export function onComposerInput() {
  var chat = state.selected && state.chats.get(state.selected);
  if (!chat || chat.ended) return;
  if (!$("message").value) {
    stopTyping();
    return;
  }
  if (typing.transfer !== chat.id) {
    stopTyping();
    if (send({ type: "typing", transfer: chat.id, typing: true })) typing.transfer = chat.id;
  }
  clearTimeout(typing.timer);
  typing.timer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function sendMessage(event) {
  event.preventDefault();
  var chat = state.selected && state.chats.get(state.selected);
  var field = $("message");
  var text = field.value.trim();
  if (!chat || chat.ended || !text) return;
  stopTyping();
  field.value = "";
  var pending = { kind: "agent", text: text, agentName: (state.agent && state.agent.name) || "You", at: new Date().toISOString(), pending: true };
  addEntry(chat, pending);
  var row = $("transcript").lastChild;
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/messages", { text: text })
    .then(function (message) {
      pending.pending = false;
      pending.live = true;
      if (message && message.id) {
        pending.id = message.id;
        chat.ids.add(message.id);
        if (row && row.parentNode) {
          row.setAttribute("data-id", message.id);
          // The customer may have read it before this answer came back.
          row.appendChild(el("span", "receipt", isRead(chat, pending) ? "Read" : "Sent"));
        }
      }
      if (message && message.at) pending.at = message.at;
    })
    .catch(function (error) {
      chat.entries = chat.entries.filter(function (entry) { return entry !== pending; });
      if (row && row.parentNode) row.parentNode.removeChild(row);
      if (state.selected === chat.id && !field.value) field.value = text;
      showBanner("Your message was not sent: " + problem(error));
    });
}

export function composerKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit ? $("composer").requestSubmit() : sendMessage(event);
  }
}
