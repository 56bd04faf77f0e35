/*
 * Ending a chat: transfer to another agent or queue, end as resolved, hand back to the
 * assistant (with an action to resume and variables to set), and closing an ended chat.
 */
import { state } from "./state.js";
import { $, clear, el, showBanner } from "./dom.js";
import { api, problem } from "./api.js";
import { endChat, renderChat, renderChatList, selectChat } from "./chats.js";
import { stopTyping } from "./composer.js";

export function loadDirectory() {
  return api("GET", "/v1/agent/queues").then(function (data) {
    state.directory.agents = (data && data.agents) || [];
    state.directory.queues = ((data && data.queues) || []).map(function (queue) { return queue.name; });
    fillTransferOptions();
    return data;
  });
}

export function fillTransferOptions() {
  var kind = document.querySelector("input[name='transfer-kind']:checked").value;
  var options = $("transfer-options");
  clear(options);
  var me = state.agent && state.agent.id;
  if (kind === "agent") {
    state.directory.agents.forEach(function (agent) {
      if (agent.id === me) return;
      var option = el("option");
      option.value = agent.id;
      option.label = (agent.name || agent.id) + " \u2014 " + (agent.presence || "");
      options.appendChild(option);
    });
  } else {
    state.directory.queues.forEach(function (name) {
      var option = el("option");
      option.value = name;
      options.appendChild(option);
    });
  }
}

export function transferChat(event) {
  event.preventDefault();
  var chat = state.selected && state.chats.get(state.selected);
  var target = $("transfer-target").value.trim();
  if (!chat || chat.ended || !target) return;
  var kind = document.querySelector("input[name='transfer-kind']:checked").value;
  var body = kind === "agent" ? { agent: target } : { queue: target };
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/transfer", body)
    .then(function () {
      $("transfer-target").value = "";
      $("transfer-box").open = false;
      stopTyping();
      endChat(chat, "You transferred this chat to " + (kind === "agent" ? "agent " : "queue ") + target + ".");
    })
    .catch(function (error) { showBanner("Could not transfer: " + problem(error)); });
}

export function resolveChat() {
  var chat = state.selected && state.chats.get(state.selected);
  if (!chat || chat.ended) return;
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/end", { disposition: "resolved" })
    .then(function () {
      stopTyping();
      endChat(chat, "You ended the chat as resolved.");
    })
    .catch(function (error) { showBanner("Could not end the chat: " + problem(error)); });
}

export function addVariableRow() {
  var rows = $("handback-vars");
  var n = rows.children.length + 1;
  var row = el("div", "var-row");
  var nameId = "hb-var-name-" + n + "-" + Date.now();
  var valueId = "hb-var-value-" + n + "-" + Date.now();
  var nameLabel = el("label", "sr-only", "Variable " + n + " name");
  nameLabel.htmlFor = nameId;
  var name = el("input", "var-name");
  name.id = nameId;
  name.placeholder = "name";
  name.autocomplete = "off";
  name.spellcheck = false;
  var valueLabel = el("label", "sr-only", "Variable " + n + " value");
  valueLabel.htmlFor = valueId;
  var value = el("input", "var-value");
  value.id = valueId;
  value.placeholder = "value";
  value.autocomplete = "off";
  var remove = el("button", "secondary", "Remove");
  remove.type = "button";
  remove.setAttribute("aria-label", "Remove variable " + n);
  remove.addEventListener("click", function () { rows.removeChild(row); });
  [nameLabel, name, valueLabel, value, remove].forEach(function (node) { row.appendChild(node); });
  rows.appendChild(row);
  name.focus();
}

/* A value typed as 42, true or {"a":1} is that JSON value; anything else is text. */
function parseValue(raw) {
  var text = raw.trim();
  if (/^(-?\d+(\.\d+)?|true|false|null|\{.*\}|\[.*\])$/.test(text)) {
    try { return JSON.parse(text); } catch (e) { return raw; }
  }
  return raw;
}

export function handBack(event) {
  event.preventDefault();
  var chat = state.selected && state.chats.get(state.selected);
  if (!chat || chat.ended) return;
  var body = { disposition: "hand_back" };
  var resume = $("resume-action").value.trim();
  if (resume) body.resume = resume;
  var variables = {};
  var count = 0;
  var rows = $("handback-vars").querySelectorAll(".var-row");
  for (var i = 0; i < rows.length; i++) {
    var name = rows[i].querySelector(".var-name").value.trim();
    if (!name) continue;
    variables[name] = parseValue(rows[i].querySelector(".var-value").value);
    count += 1;
  }
  if (count) body.variables = variables;
  api("POST", "/v1/agent/transfers/" + encodeURIComponent(chat.id) + "/end", body)
    .then(function () {
      stopTyping();
      $("resume-action").value = "";
      clear($("handback-vars"));
      $("handback-box").open = false;
      endChat(chat, "You handed the customer back to the assistant" + (resume ? " to resume " + resume : "") + ".");
    })
    .catch(function (error) { showBanner("Could not hand back: " + problem(error)); });
}

export function dismissChat() {
  var id = state.selected;
  if (!id) return;
  state.chats.delete(id);
  state.selected = null;
  var next = null;
  state.chats.forEach(function (chat) { if (!next && !chat.ended) next = chat.id; });
  if (next) selectChat(next, true);
  else {
    renderChatList();
    renderChat();
    $("main").focus();
  }
}
