/*
 * The brief and the transcript of a chat: the server's entries in the console's shape, each
 * line as the customer saw it (links and emphasis from the shared rich text), read receipts,
 * and the brief's reason, message, failed inputs and variables.
 */
import { $, clear, display, el, formatTime, humanize } from "./dom.js";
import { reasonSummary } from "./offers.js";
import { appendLink, appendRichText } from "./richtext.js";

/* One transcript entry from the server, in the console's shape, or null for one not shown. */
export function fromEntry(entry) {
  var payload = entry.payload || {};
  var kind = entry.kind;
  var base = { kind: kind, at: entry.at, id: payload.id || null, seq: entry.seq };
  if (kind === "event") {
    // The transfer's opening transition repeats the "transfer requested" entry beside it.
    if (payload.type === "transfer" && payload.to === "requested") return null;
    base.text = eventText(payload);
    return base;
  }
  if (kind === "agent") base.agentName = (payload.agent && (payload.agent.name || payload.agent.id)) || "Agent";
  switch (payload.type) {
    case "text": base.text = payload.text; break;
    case "options":
      base.text = (payload.title ? payload.title + " " : "") +
        "[" + (payload.choices || []).map(function (choice) { return choice.label; }).join(" | ") + "]";
      break;
    case "link": base.text = payload.label || payload.url || ""; base.url = payload.url || ""; break;
    default: base.text = payload.text !== undefined ? payload.text : display(payload);
  }
  return base;
}

function eventText(payload) {
  var type = payload.type || "event";
  var parts = [humanize(type)];
  if (payload.to) parts.push("\u2192 " + humanize(payload.to));
  if (payload.queue) parts.push("(" + payload.queue + ")");
  return parts.join(" ");
}

export function entryNode(chat, entry) {
  var who = entry.kind === "customer" ? "customer" : entry.kind === "agent" ? "agent" : entry.kind === "event" ? "event" : "assistant";
  var row = el("div", "entry entry-" + who);
  if (entry.id) row.setAttribute("data-id", entry.id);
  if (who === "event") {
    row.appendChild(el("span", "event-text", entry.text));
    if (entry.at) row.appendChild(el("time", "at", formatTime(entry.at)));
    return row;
  }
  var label = who === "customer" ? "Customer" : who === "agent" ? entry.agentName || "Agent" : "Assistant";
  var head = el("div", "entry-head");
  head.appendChild(el("span", "who", label));
  if (entry.at) {
    var time = el("time", "at", formatTime(entry.at));
    time.dateTime = entry.at;
    head.appendChild(time);
  }
  row.appendChild(head);
  // The assistant's and the agents' lines as the customer saw them: links and emphasis.
  var bubble = el("div", "bubble");
  var text = entry.text === undefined || entry.text === null ? "" : String(entry.text);
  if (who === "customer") bubble.textContent = text;
  else if (entry.url !== undefined) appendLink(bubble, text, entry.url);
  else appendRichText(bubble, text);
  row.appendChild(bubble);
  if (who === "agent" && entry.id) {
    var receipt = el("span", "receipt", isRead(chat, entry) ? "Read" : "Sent");
    row.appendChild(receipt);
  }
  return row;
}

export function isRead(chat, entry) {
  if (!chat.readUpTo) return false;
  var upTo = -1;
  var at = -1;
  chat.entries.forEach(function (candidate, index) {
    if (candidate.id === chat.readUpTo) upTo = index;
    if (candidate === entry) at = index;
  });
  return upTo >= 0 && at >= 0 && at <= upTo;
}

export function scrollTranscript() {
  var transcript = $("transcript");
  transcript.scrollTop = transcript.scrollHeight;
}

export function renderBrief(chat) {
  var brief = chat.brief || {};
  var reason = brief.reason || {};
  $("brief-reason").textContent = reasonSummary(brief);
  $("brief-message").textContent = display(brief.message_to_agent);
  var failed = reason.failed_inputs || [];
  var failedList = $("brief-failed");
  clear(failedList);
  failed.forEach(function (text) { failedList.appendChild(el("li", "", text)); });
  $("brief-failed-box").hidden = failed.length === 0;
  fillTable($("brief-variables"), brief.variables || {}, "No variables collected.");
  var customer = {};
  Object.keys(brief.customer || {}).forEach(function (field) {
    var value = brief.customer[field];
    if (value !== null && value !== undefined && value !== "") customer[humanize(field)] = value;
  });
  $("brief-customer").hidden = Object.keys(customer).length === 0;
  fillTable($("brief-customer"), customer, "");
}

function fillTable(table, values, emptyText) {
  var body = table.tBodies[0];
  clear(body);
  var names = Object.keys(values).sort();
  names.forEach(function (name) {
    var row = el("tr");
    var header = el("th", "", name);
    header.scope = "row";
    row.appendChild(header);
    row.appendChild(el("td", "", display(values[name])));
    body.appendChild(row);
  });
  if (!names.length && emptyText) {
    var row = el("tr");
    var cell = el("td", "empty", emptyText);
    cell.colSpan = 2;
    row.appendChild(cell);
    body.appendChild(row);
  }
}
