/*
 * The agent's chats: the list, the chat on screen, customer messages, typing and read receipts
 * as they arrive, and a chat's end.
 */
import { CUSTOMER_TYPING_MS, state } from "./state.js";
import { $, announce, clear, el, humanize } from "./dom.js";
import { api, send } from "./api.js";
import { reasonSummary, renderOffers } from "./offers.js";
import { entryNode, fromEntry, isRead, renderBrief, scrollTranscript } from "./transcript.js";
import { setView } from "./views.js";

export function upsertChat(id, queue, brief) {
  var chat = state.chats.get(id);
  if (!chat) {
    chat = {
      id: id,
      queue: queue || "",
      brief: brief || {},
      entries: [],
      ids: new Set(),
      unread: 0,
      ended: false,
      endedText: "",
      customerTyping: false,
      readSent: null,
      readUpTo: null,
      loading: false
    };
    state.chats.set(id, chat);
  } else {
    if (queue) chat.queue = queue;
    if (brief) chat.brief = brief;
  }
  renderChatList();
  if (state.selected === id) renderBrief(chat);
  return chat;
}

export function onChat(frame) {
  if (!frame.transfer) return;
  if (state.rebuild) state.rebuild.add(frame.transfer);
  var known = state.chats.has(frame.transfer);
  var chat = upsertChat(frame.transfer, frame.queue, frame.brief);
  if (chat.ended) {
    chat.ended = false;
    chat.endedText = "";
  }
  // After a reconnect the transcript is fetched again: messages may have arrived meanwhile.
  loadTranscript(chat);
  if (!state.selected) selectChat(chat.id, false);
  else if (state.selected === chat.id) renderChat();
  if (!known) announce("You are in a chat with a customer from " + (chat.queue || "a queue") + ".");
}

export function loadTranscript(chat) {
  if (chat.loading) {
    chat.reload = true;
    return;
  }
  chat.loading = true;
  chat.reload = false;
  api("GET", "/v1/agent/transfers/" + encodeURIComponent(chat.id))
    .then(function (data) {
      if (data.brief) chat.brief = data.brief;
      if (data.queue) chat.queue = data.queue;
      chat.state = data.state;
      // Messages that arrived over the socket before the answer and are not in it stay.
      var live = chat.entries.filter(function (entry) { return entry.live; });
      chat.entries = [];
      chat.ids = new Set();
      (data.transcript || []).forEach(function (entry) {
        var item = fromEntry(entry);
        if (item) addEntry(chat, item, true);
      });
      live.forEach(function (entry) {
        if (!isDuplicate(chat, entry)) addEntry(chat, entry, true);
      });
      if (state.selected === chat.id) renderChat();
      renderChatList();
    })
    .catch(function (error) {
      if (error.status === 404) endChat(chat, "This chat is no longer yours.");
    })
    .finally(function () {
      chat.loading = false;
      if (chat.reload) loadTranscript(chat);
    });
}

function isDuplicate(chat, entry) {
  if (entry.id && chat.ids.has(entry.id)) return true;
  // Transcript entries of customers carry no message id: the same words from the same side at
  // (nearly) the same moment are the same message.
  return chat.entries.some(function (other) {
    return other.kind === entry.kind && other.text === entry.text && (!other.id || !entry.id) && sameMoment(other.at, entry.at);
  });
}

/* Adds an entry; `quiet` leaves the page alone (a whole transcript is rendered afterwards). */
export function addEntry(chat, entry, quiet) {
  if (entry.id && chat.ids.has(entry.id)) return;
  if (entry.id) chat.ids.add(entry.id);
  chat.entries.push(entry);
  if (quiet) return;
  if (state.selected === chat.id) {
    $("transcript").appendChild(entryNode(chat, entry));
    scrollTranscript();
  }
}

export function onCustomerMessage(frame) {
  var chat = state.chats.get(frame.transfer);
  var message = frame.message || {};
  if (!chat) return;
  chat.customerTyping = false;
  clearTimeout(chat.typingTimer);
  var entry = { kind: "customer", id: message.id, at: message.at, text: message.text, live: true };
  // A desk that resumed after a restart may send a message again that the transcript (whose
  // entries carry no message id) already has: the same words at the same moment are a repeat.
  if (!isDuplicate(chat, entry)) addEntry(chat, entry);
  if (state.selected === chat.id && state.view === "chats") {
    updateTyping(chat);
    sendRead(chat);
  } else {
    chat.unread += 1;
    announce("New message from the customer in " + (chat.queue || "a chat") + ".");
  }
  renderChatList();
}

/* Two timestamps of one message, written by different parts of the server, within 2 s. */
function sameMoment(a, b) {
  var first = Date.parse(a);
  var second = Date.parse(b);
  if (isNaN(first) || isNaN(second)) return true;
  return Math.abs(first - second) < 2000;
}

export function onCustomerTyping(frame) {
  var chat = state.chats.get(frame.transfer);
  if (!chat) return;
  chat.customerTyping = !!frame.typing;
  clearTimeout(chat.typingTimer);
  if (chat.customerTyping) {
    chat.typingTimer = setTimeout(function () {
      chat.customerTyping = false;
      updateTyping(chat);
    }, CUSTOMER_TYPING_MS);
  }
  updateTyping(chat);
}

function updateTyping(chat) {
  if (state.selected !== chat.id) return;
  $("customer-typing").hidden = !chat.customerTyping || chat.ended;
}

export function onCustomerRead(frame) {
  var chat = state.chats.get(frame.transfer);
  if (!chat || !frame.up_to) return;
  chat.readUpTo = frame.up_to;
  if (state.selected !== chat.id) return;
  var rows = $("transcript").querySelectorAll(".entry-agent");
  var entries = chat.entries.filter(function (entry) { return entry.kind === "agent" && entry.id; });
  for (var i = 0; i < rows.length; i++) {
    var id = rows[i].getAttribute("data-id");
    var entry = entries.filter(function (candidate) { return candidate.id === id; })[0];
    var receipt = rows[i].querySelector(".receipt");
    if (entry && receipt && isRead(chat, entry)) receipt.textContent = "Read";
  }
}

export function onChatEnded(frame) {
  var chat = state.chats.get(frame.transfer);
  if (!chat) {
    // An offer can end too (the customer cancelled before anyone accepted).
    if (state.offers.delete(frame.transfer)) renderOffers();
    return;
  }
  var by = { customer: "the customer", agent: "the agent", desk: "the desk" }[frame.by] || "the desk";
  var reason = frame.reason && frame.reason.kind ? " (" + humanize(frame.reason.kind) + ")" : "";
  endChat(chat, "The chat was ended by " + by + reason + ".");
}

export function endChat(chat, text) {
  if (chat.ended) return;
  chat.ended = true;
  chat.endedText = text;
  chat.customerTyping = false;
  addEntry(chat, { kind: "event", text: text, at: new Date().toISOString() });
  if (state.selected === chat.id) renderChat();
  else announce(text);
  renderChatList();
}

export function renderChatList() {
  var list = $("chat-list");
  clear(list);
  var open = 0;
  state.chats.forEach(function (chat) {
    if (!chat.ended) open += 1;
    var item = el("li");
    var button = el("button", "chat-link" + (chat.ended ? " ended" : ""));
    button.type = "button";
    button.setAttribute("data-chat", chat.id);
    if (state.selected === chat.id) button.setAttribute("aria-current", "true");
    button.appendChild(el("span", "chat-link-queue", chat.queue || "chat"));
    button.appendChild(el("span", "chat-link-reason", reasonSummary(chat.brief)));
    if (chat.ended) button.appendChild(el("span", "tag", "ended"));
    if (chat.unread) {
      var badge = el("span", "count", String(chat.unread));
      badge.setAttribute("aria-label", chat.unread + " unread");
      button.appendChild(badge);
    }
    button.addEventListener("click", function () { selectChat(chat.id, true); });
    item.appendChild(button);
    list.appendChild(item);
  });
  $("no-chats").hidden = state.chats.size > 0;
  var count = $("tab-chats-count");
  count.textContent = String(open + state.offers.size);
  count.hidden = open + state.offers.size === 0;
}

export function selectChat(id, focus) {
  state.selected = id;
  var chat = state.chats.get(id);
  if (chat) chat.unread = 0;
  if (state.view !== "chats") setView("chats", true);
  renderChatList();
  renderChat();
  if (chat && focus) $(chat.ended ? "transcript" : "message").focus();
}

export function renderChat() {
  var chat = state.selected ? state.chats.get(state.selected) : null;
  $("chat").hidden = !chat;
  $("no-chat").hidden = !!chat;
  if (!chat) return;
  $("chat-title").textContent = "Customer from " + (chat.queue || "a queue");
  $("chat-state").textContent = chat.ended ? "Ended" : "Active";
  $("chat-state").setAttribute("data-state", chat.ended ? "ended" : "active");
  renderBrief(chat);
  var transcript = $("transcript");
  clear(transcript);
  chat.entries.forEach(function (entry) { transcript.appendChild(entryNode(chat, entry)); });
  scrollTranscript();
  updateTyping(chat);
  var ended = chat.ended;
  $("message").disabled = ended;
  $("send").disabled = ended;
  $("transfer-box").hidden = ended;
  $("handback-box").hidden = ended;
  $("resolve").hidden = ended;
  $("dismiss").hidden = !ended;
  if (!ended) sendRead(chat);
}

/* Tells the customer their messages were seen, when this chat is on screen. */
export function sendRead(chat) {
  if (document.visibilityState === "hidden" || state.view !== "chats" || state.selected !== chat.id) return;
  var last = null;
  chat.entries.forEach(function (entry) {
    if (entry.kind === "customer" && entry.id) last = entry.id;
  });
  if (!last || chat.readSent === last) return;
  if (send({ type: "read", transfer: chat.id, up_to: last })) chat.readSent = last;
}
