/*
 * Queues: the side panel's summary from `queue` frames, and the supervisor view (queues,
 * waiting customers, agents), refreshed while it is on screen.
 */
import { state } from "./state.js";
import { $, clear, display, el, formatDuration, humanize } from "./dom.js";
import { problem } from "./api.js";
import { reasonSummary } from "./offers.js";
import { loadDirectory } from "./chat-actions.js";

export function onQueue(frame) {
  if (!frame.queue) return;
  state.queues.set(frame.queue, frame);
  renderQueues();
}

export function renderQueues() {
  var list = $("queue-summary");
  clear(list);
  var names = Array.from(state.queues.keys()).sort();
  names.forEach(function (name) {
    var queue = state.queues.get(name);
    var item = el("li");
    item.setAttribute("data-queue", name);
    item.appendChild(el("strong", "", name));
    var waiting = Number(queue.waiting) || 0;
    var text = waiting ? waiting + " waiting, longest " + formatDuration(queue.oldest_wait_secs) : "nobody waiting";
    item.appendChild(el("span", "", text));
    list.appendChild(item);
  });
  if (!names.length) {
    var agentQueues = (state.agent && state.agent.queues) || [];
    list.appendChild(el("li", "empty", agentQueues.length ? agentQueues.join(", ") : "All queues"));
  }
}

export function loadSupervisor() {
  return loadDirectory()
    .then(function (data) {
      var queues = (data && data.queues) || [];
      var body = $("sv-queues").tBodies[0];
      clear(body);
      queues.forEach(function (queue) {
        var row = el("tr");
        row.setAttribute("data-queue", queue.name);
        var name = el("th", "", queue.name);
        name.scope = "row";
        row.appendChild(name);
        row.appendChild(el("td", "num", display(queue.waiting)));
        row.appendChild(el("td", "num", queue.waiting ? formatDuration(queue.oldest_wait_secs) : "\u2014"));
        row.appendChild(el("td", "num", display(queue.agents_online)));
        body.appendChild(row);
      });

      var waiting = (data && data.waiting) || [];
      var waitBody = $("sv-waiting").tBodies[0];
      clear(waitBody);
      var now = Date.now();
      waiting.forEach(function (item) {
        var row = el("tr");
        row.setAttribute("data-transfer", item.transfer);
        row.appendChild(el("td", "", display(item.queue)));
        var since = Date.parse(item.since);
        row.appendChild(el("td", "num", isNaN(since) ? "\u2014" : formatDuration((now - since) / 1000)));
        var reason = item.reason;
        var reasonText = reason && typeof reason === "object" ? reasonSummary({ reason: reason }) : humanize(reason);
        row.appendChild(el("td", "", display(reasonText)));
        row.appendChild(el("td", "mono", display(item.transfer)));
        waitBody.appendChild(row);
      });
      $("sv-no-waiting").hidden = waiting.length > 0;

      var agents = (data && data.agents) || [];
      var agentBody = $("sv-agents").tBodies[0];
      clear(agentBody);
      agents.forEach(function (agent) {
        var row = el("tr");
        row.setAttribute("data-agent", agent.id);
        var name = el("th", "", (agent.name || agent.id) + (agent.name && agent.name !== agent.id ? " (" + agent.id + ")" : ""));
        name.scope = "row";
        row.appendChild(name);
        var presence = el("td");
        presence.appendChild(el("span", "presence-dot presence-" + String(agent.presence || "offline").replace(/[^a-z]/g, ""), display(agent.presence)));
        row.appendChild(presence);
        row.appendChild(el("td", "num", display(agent.chats) + " / " + display(agent.capacity)));
        agentBody.appendChild(row);
      });
      $("supervisor-updated").textContent = "Updated " + new Date().toLocaleTimeString();
    })
    .catch(function (error) {
      if (error.status !== 401) $("supervisor-updated").textContent = "Could not refresh: " + problem(error);
    });
}
