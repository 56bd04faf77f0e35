/*
 * Baton agent console (`/agent`): sign in, set presence, take customers from the live queue,
 * read the brief and the transcript, chat in real time, transfer, end or hand back to the
 * assistant; tickets and a supervisor view.
 *
 * It uses only the agent API (docs/agent-api.md): HTTP routes under /v1/agent with a bearer
 * token kept in sessionStorage, and the WebSocket /v1/agent/events?token=…, which reconnects by
 * itself with backoff. After every (re)connect the server sends `hello`, then an `offer` for each
 * pending offer and a `chat` for each open chat, and the console rebuilds its view from those.
 *
 * Everything a customer, an agent, the assistant or the desk wrote is inserted with textContent,
 * never as markup. Plain JavaScript, no build step, no dependency: this entry module wires the
 * page to the modules under /agent/, one per concern, which the browser loads as ES modules.
 */
import { state, storageGet } from "./agent/state.js";
import { $ } from "./agent/dom.js";
import { askNotificationPermission, unlockAudio } from "./agent/alerts.js";
import { login, logout, setPresence, showConsole, showLogin } from "./agent/session.js";
import { renderOffers, tickCountdowns } from "./agent/offers.js";
import { renderChat, renderChatList, sendRead } from "./agent/chats.js";
import { composerKey, onComposerInput, sendMessage, stopTyping } from "./agent/composer.js";
import { addVariableRow, dismissChat, fillTransferOptions, handBack, loadDirectory, resolveChat, transferChat } from "./agent/chat-actions.js";
import { renderQueues } from "./agent/queues.js";
import { loadTickets } from "./agent/tickets.js";
import { setView, viewFromPath } from "./agent/views.js";

function start() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("notify").addEventListener("click", function () { unlockAudio(); askNotificationPermission(); });
  $("presence").addEventListener("change", function (event) { unlockAudio(); setPresence(event.target.value); });
  $("composer").addEventListener("submit", sendMessage);
  $("message").addEventListener("input", onComposerInput);
  $("message").addEventListener("keydown", composerKey);
  $("message").addEventListener("blur", stopTyping);
  $("transfer-form").addEventListener("submit", transferChat);
  $("transfer-box").addEventListener("toggle", function () {
    if ($("transfer-box").open) loadDirectory().catch(function () { /* the field still takes any id */ });
  });
  var kinds = document.querySelectorAll("input[name='transfer-kind']");
  for (var i = 0; i < kinds.length; i++) kinds[i].addEventListener("change", fillTransferOptions);
  $("resolve").addEventListener("click", resolveChat);
  $("handback-form").addEventListener("submit", handBack);
  $("add-var").addEventListener("click", addVariableRow);
  $("dismiss").addEventListener("click", dismissChat);
  $("tickets-refresh").addEventListener("click", loadTickets);
  var tabs = document.querySelectorAll("#tabs a");
  for (var j = 0; j < tabs.length; j++) {
    tabs[j].addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      setView(event.currentTarget.getAttribute("data-view"), true);
    });
  }
  window.addEventListener("popstate", function () { setView(viewFromPath(), false); });
  document.addEventListener("visibilitychange", function () {
    var chat = state.selected && state.chats.get(state.selected);
    if (chat) sendRead(chat);
  });
  // Any click is a user gesture that lets the offer sound play later.
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  setInterval(tickCountdowns, 1000);

  state.token = storageGet("token");
  try { state.agent = JSON.parse(storageGet("agent") || "null"); } catch (e) { state.agent = null; }
  state.presence = storageGet("presence") || "online";
  renderOffers();
  renderChatList();
  renderQueues();
  renderChat();
  if (state.token) showConsole();
  else showLogin("");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
