/*
 * The preview page: the web chat (with debug output requested on every message) beside a panel
 * that shows, per turn, the action matched, the confidence, the step, the variables and the
 * fallback reason, read from the message API's output.debug and context.
 * Transfers are simulated: the panel shows "[Connect to an agent]" with the reason, queue and
 * message to the agent, and buttons that make the simulated desk publish events to the chat.
 * All text is inserted with textContent.
 */
(function () {
  "use strict";

  var turns = document.getElementById("turns");
  var empty = document.getElementById("empty");
  var picker = document.getElementById("assistant");
  var params = new URLSearchParams(window.location.search);
  var assistant = params.get("assistant") || document.body.getAttribute("data-assistant");
  var chat = null;
  var sessionId = null;
  var n = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function row(list, name, value) {
    list.appendChild(el("dt", "", name));
    var dd = el("dd", "", value === undefined || value === null || value === "" ? "\u2014" : value);
    dd.setAttribute("data-field", name);
    list.appendChild(dd);
  }

  function desk(event) {
    if (!sessionId) return;
    fetch("/preview/sessions/" + encodeURIComponent(sessionId) + "/desk", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: event })
    });
  }

  function showTurn(turn) {
    var response = turn.response || {};
    var output = response.output || {};
    var debug = (output.debug && output.debug.baton) || {};
    var skills = (response.context && response.context.skills) || {};
    var skill = skills["actions skill"] || {};
    var variables = {};
    [skill.skill_variables, skill.action_variables].forEach(function (group) {
      if (!group) return;
      Object.keys(group).forEach(function (name) { variables[name] = group[name]; });
    });
    n += 1;
    empty.hidden = true;

    var box = el("article", "turn");
    box.setAttribute("data-turn", String(n));
    box.appendChild(el("h3", "", "Turn " + n + ": " + (turn.text ? "\u201c" + turn.text + "\u201d" : "(conversation start)")));
    var list = el("dl");
    row(list, "Action matched", debug.matched_action);
    row(list, "Confidence", typeof debug.confidence === "number" ? debug.confidence.toFixed(3) : null);
    row(list, "Action", debug.action);
    row(list, "Step", debug.step);
    row(list, "Fallback reason", debug.fallback_reason);
    var events = ((output.debug && output.debug.turn_events) || []).map(function (event) {
      return event.event + " " + (event.source && event.source.action) + (event.reason ? " (" + event.reason + ")" : "");
    });
    row(list, "Turn events", events.join(", "));
    box.appendChild(list);

    var names = Object.keys(variables);
    var details = el("details");
    details.appendChild(el("summary", "", "Variables (" + names.length + ")"));
    details.appendChild(el("pre", "", JSON.stringify(variables, null, 2)));
    box.appendChild(details);

    (output.generic || []).forEach(function (item) {
      if (item.response_type !== "connect_to_agent") return;
      var target = (item.transfer_info && item.transfer_info.target && item.transfer_info.target.baton) || {};
      var transfer = el("div", "transfer");
      transfer.setAttribute("data-transfer", "");
      transfer.appendChild(el("strong", "", "[Connect to an agent]"));
      var facts = el("dl");
      row(facts, "Reason", target.reason);
      row(facts, "Queue", target.queue);
      row(facts, "Message to agent", item.message_to_human_agent);
      transfer.appendChild(facts);
      var buttons = el("div", "desk");
      buttons.appendChild(el("span", "", "Simulated desk:"));
      [
        ["Queue #1", { type: "queued", position: 1, estimated_wait_secs: 60 }],
        ["Agent joins", { type: "agent_joined", agent_name: "Sam" }],
        ["Agent writes", { type: "agent_message", agent_name: "Sam", text: "Hi, I'm Sam from the team. How can I help?" }],
        ["Agent leaves", { type: "agent_left", agent_name: "Sam" }],
        ["End chat", { type: "ended", by: "agent" }]
      ].forEach(function (pair) {
        var button = el("button", "", pair[0]);
        button.type = "button";
        button.addEventListener("click", function () { desk(pair[1]); });
        buttons.appendChild(button);
      });
      transfer.appendChild(buttons);
      box.appendChild(transfer);
    });

    turns.insertBefore(box, turns.firstChild);
  }

  function start() {
    var container = document.getElementById("chat");
    container.textContent = "";
    turns.textContent = "";
    empty.hidden = false;
    n = 0;
    chat = window.BatonWebChat.mount({
      base: window.location.origin,
      assistant: assistant,
      title: "Preview: " + assistant,
      container: container,
      debug: true,
      onTurn: showTurn,
      onSession: function (id) { sessionId = id; }
    });
  }

  document.getElementById("restart").addEventListener("click", function () {
    try {
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf("baton-webchat:") === 0) window.sessionStorage.removeItem(key);
      });
    } catch (e) { /* no storage */ }
    start();
  });

  picker.addEventListener("change", function () {
    window.location.search = "?assistant=" + encodeURIComponent(picker.value);
  });

  // The server reloads an edited assistant (baton serve --dev): each poll says which version
  // answers and, when the latest edit has errors, what they are.
  var banner = document.getElementById("reload");
  var seenVersion = null;
  var shownProblems = "";

  function showReloads(item) {
    if (seenVersion !== null && item.version > seenVersion) {
      var note = el("p", "reloaded", "Reloaded the edited assistant: the next message gets the new version.");
      note.setAttribute("data-reloaded", String(item.version));
      empty.hidden = true;
      turns.insertBefore(note, turns.firstChild);
    }
    seenVersion = item.version;
    var problems = item.problems || [];
    var text = problems.join("\n");
    if (text === shownProblems) return;
    shownProblems = text;
    banner.textContent = "";
    banner.hidden = problems.length === 0;
    if (!problems.length) return;
    banner.appendChild(el("strong", "", "The latest edit is not served; the previous version answers until it is mended:"));
    banner.appendChild(el("pre", "", text));
  }

  function poll(first) {
    return fetch("/preview/assistants").then(function (response) { return response.json(); }).then(function (list) {
      list.forEach(function (item) {
        if (first) {
          var option = el("option", "", item.name + " (" + item.id + ")");
          option.value = item.id;
          option.selected = item.id === assistant;
          picker.appendChild(option);
        }
        if (item.id === assistant) showReloads(item);
      });
    }).catch(function () { /* the server is restarting: the next poll tells */ });
  }

  poll(true);
  window.setInterval(function () { if (!document.hidden) poll(false); }, 2000);

  start();
})();
