/*
 * Baton web chat: a customer-service chat widget embedded with one script tag.
 *
 *   <script src="https://HOST/webchat.js" data-assistant="bank" async></script>
 *
 * Optional attributes: data-environment ("draft" or "live"; default: the paths without an
 * environment), data-title (the panel's heading), data-open ("true" to start open).
 * The server's address is taken from the script's own src.
 *
 * It talks to the Watson Assistant v2 compatible message API, keeps the session id in
 * sessionStorage and restores the conversation from the server after a reload, and listens on
 * the session's event socket for what arrives between turns: queue position and wait, a human
 * agent joining, typing, writing, reading and leaving, the chat ending, the offline response, and
 * the assistant speaking again afterwards. While the customer waits for an agent a Cancel button
 * leaves the queue; while an agent is there the widget tells them when the customer types and
 * what the customer has read (typing and read frames on the same socket).
 *
 * Everything a person or the assistant wrote is inserted with textContent, never as markup.
 * Plain JavaScript, no build step; window.BatonWebChat.mount(options) embeds a chat by hand
 * (the preview page uses it).
 */
(function () {
  "use strict";

  var CSS = "__BATON_CSS__";
  var API_VERSION = "2024-08-25";
  var MAX_PAUSE_MS = 4000;
  var TYPING_IDLE_MS = 3000;
  var CONNECT_WAIT_MS = 1500;
  /* Transfer states in which the customer is still with (or waiting for) a human agent. */
  var OPEN_TRANSFER = { requested: true, queued: true, offered: true, active: true, unavailable: true };
  var instances = 0;

  function currentScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.querySelectorAll("script[src*='webchat.js']");
    return scripts.length ? scripts[scripts.length - 1] : null;
  }

  function injectStyle() {
    if (document.getElementById("baton-wc-style")) return;
    var style = document.createElement("style");
    style.id = "baton-wc-style";
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function storageGet(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, value);
    } catch (e) { /* storage disabled: the chat still works for this page */ }
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  var RICH_LINK_CLASS = "baton-wc-link";
  /*__BATON_RICHTEXT__*/

  function Chat(options) {
    this.id = ++instances;
    this.base = options.base.replace(/\/+$/, "");
    this.assistant = options.assistant;
    this.environment = options.environment || "";
    this.title = options.title || "Chat with us";
    this.inline = !!options.container;
    this.container = options.container || null;
    this.debug = !!options.debug;
    this.onTurn = options.onTurn || null;
    this.onSession = options.onSession || null;
    this.storageKey = "baton-webchat:" + this.base + ":" + this.assistant + (this.environment ? ":" + this.environment : "");
    this.sessionId = storageGet(this.storageKey + ":session");
    this.busy = 0;
    this.agentTyping = false;
    this.agentName = null;
    this.transfer = null; // null, "waiting" or "active"
    this.agentShown = [];
    this.pendingConnect = null;
    this.connectTimer = null;
    this.socketDropped = false;
    this.readSent = null;
    this.lastAgentMessage = null;
    this.typingSent = false;
    this.typingTimer = null;
    this.socket = null;
    this.socketWanted = false;
    this.lastEventSeq = Number(storageGet(this.storageKey + ":events") || 0);
    this.reconnectDelay = 1000;
    this.started = false;
    this.queue = Promise.resolve();
    this.build();
    if (this.inline || storageGet(this.storageKey + ":open") === "1" || options.open) this.open(false);
  }

  Chat.prototype.path = function (rest) {
    var env = this.environment ? "/environments/" + encodeURIComponent(this.environment) : "";
    return this.base + "/v2/assistants/" + encodeURIComponent(this.assistant) + env + rest;
  };

  Chat.prototype.build = function () {
    var self = this;
    var panelId = "baton-wc-panel-" + this.id;
    var inputId = "baton-wc-input-" + this.id;
    var titleId = "baton-wc-title-" + this.id;

    var root = el("div", "baton-wc" + (this.inline ? " baton-wc-inline" : ""));
    root.setAttribute("data-baton-webchat", "");

    if (!this.inline) {
      var launcher = el("button", "baton-wc-launcher");
      launcher.type = "button";
      launcher.setAttribute("aria-controls", panelId);
      launcher.setAttribute("aria-expanded", "false");
      launcher.setAttribute("aria-label", "Open chat: " + this.title);
      launcher.appendChild(el("span", "baton-wc-launcher-icon")).setAttribute("aria-hidden", "true");
      launcher.appendChild(el("span", "baton-wc-launcher-text", "Chat"));
      launcher.addEventListener("click", function () { self.toggle(); });
      root.appendChild(launcher);
      this.launcher = launcher;
    }

    var panel = el("section", "baton-wc-panel");
    panel.id = panelId;
    panel.setAttribute("role", this.inline ? "region" : "dialog");
    panel.setAttribute("aria-labelledby", titleId);
    panel.hidden = !this.inline;
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !self.inline) {
        event.preventDefault();
        self.close(true);
      }
    });

    // A div, not <header>: on the host page a <header> outside sectioning elements is a second
    // banner landmark, and the page has its own.
    var header = el("div", "baton-wc-header");
    var heading = el("h2", "baton-wc-title", this.title);
    heading.id = titleId;
    header.appendChild(heading);
    if (!this.inline) {
      var close = el("button", "baton-wc-close");
      close.type = "button";
      close.setAttribute("aria-label", "Close chat");
      close.appendChild(el("span", "", "\u00d7")).setAttribute("aria-hidden", "true");
      close.addEventListener("click", function () { self.close(true); });
      header.appendChild(close);
    }
    panel.appendChild(header);

    var log = el("div", "baton-wc-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.setAttribute("aria-label", "Conversation");
    log.tabIndex = 0;
    panel.appendChild(log);

    var typing = el("div", "baton-wc-typing");
    typing.setAttribute("aria-hidden", "true");
    typing.hidden = true;
    typing.appendChild(el("span", "baton-wc-dot"));
    typing.appendChild(el("span", "baton-wc-dot"));
    typing.appendChild(el("span", "baton-wc-dot"));
    panel.appendChild(typing);

    var statusBar = el("div", "baton-wc-statusbar");
    statusBar.hidden = true;
    var status = el("div", "baton-wc-status");
    status.setAttribute("role", "status");
    var cancel = el("button", "baton-wc-cancel", "Cancel");
    cancel.type = "button";
    // The name starts with the word on the button, so speech users can say what they see.
    cancel.setAttribute("aria-label", "Cancel waiting for an agent");
    cancel.hidden = true;
    cancel.addEventListener("click", function () { self.cancelTransfer(); });
    statusBar.appendChild(status);
    statusBar.appendChild(cancel);
    panel.appendChild(statusBar);

    var form = el("form", "baton-wc-form");
    var label = el("label", "baton-wc-sr-only", "Type your message");
    label.htmlFor = inputId;
    var input = el("input", "baton-wc-input");
    input.id = inputId;
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = 2048;
    input.placeholder = "Type your message\u2026";
    var send = el("button", "baton-wc-send", "Send");
    send.type = "submit";
    send.setAttribute("aria-label", "Send message");
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      self.stopTyping();
      self.say(text, text);
    });
    input.addEventListener("input", function () { self.onInput(); });
    input.addEventListener("blur", function () { self.stopTyping(); });
    panel.appendChild(form);

    root.appendChild(panel);
    (this.container || document.body).appendChild(root);

    this.root = root;
    this.panel = panel;
    this.log = log;
    this.typing = typing;
    this.status = status;
    this.statusBar = statusBar;
    this.cancelButton = cancel;
    this.input = input;
  };

  Chat.prototype.toggle = function () {
    if (this.panel.hidden) this.open(true);
    else this.close(true);
  };

  Chat.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.root.classList.add("baton-wc-open");
    if (this.launcher) this.launcher.setAttribute("aria-expanded", "true");
    if (!this.inline) {
      storageSet(this.storageKey + ":open", "1");
      // On a phone the open chat fills the screen; the page behind it should not scroll.
      document.documentElement.classList.add("baton-wc-page-open");
    }
    if (focus) this.input.focus();
    this.sendRead();
    if (!this.started) {
      this.started = true;
      this.begin();
    }
  };

  Chat.prototype.close = function (focusLauncher) {
    if (this.inline) return;
    this.panel.hidden = true;
    this.root.classList.remove("baton-wc-open");
    this.launcher.setAttribute("aria-expanded", "false");
    storageSet(this.storageKey + ":open", null);
    document.documentElement.classList.remove("baton-wc-page-open");
    if (focusLauncher) this.launcher.focus();
  };

  /* Restores a stored session from the server, or starts a new one with the greeting. */
  Chat.prototype.begin = function () {
    var self = this;
    this.enqueue(function () {
      if (!self.sessionId) return self.startSession();
      return self.restore().then(function (restored) {
        if (!restored) return self.startSession();
      });
    });
  };

  Chat.prototype.enqueue = function (work) {
    var self = this;
    this.queue = this.queue.then(work).catch(function (error) {
      self.showError(error);
    });
    return this.queue;
  };

  Chat.prototype.request = function (method, url, body, headers) {
    var init = { method: method, headers: headers || {}, credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = new Error((data && data.error) || "HTTP " + response.status);
          error.status = response.status;
          error.code = data && data.baton_code;
          throw error;
        }
        return data;
      });
    });
  };

  Chat.prototype.setSession = function (sessionId) {
    this.sessionId = sessionId;
    storageSet(this.storageKey + ":session", sessionId);
    if (sessionId === null) {
      this.lastEventSeq = 0;
      storageSet(this.storageKey + ":events", null);
    }
    if (this.onSession) this.onSession(sessionId);
  };

  Chat.prototype.startSession = function () {
    var self = this;
    this.setBusy(1);
    return this.request("POST", this.path("/sessions?version=" + API_VERSION), {})
      .then(function (data) {
        self.setSession(data.session_id);
        return self.sendMessage("");
      })
      .finally(function () { self.setBusy(-1); });
  };

  Chat.prototype.restore = function () {
    var self = this;
    this.setBusy(1);
    return this.request("GET", this.path("/sessions/" + encodeURIComponent(this.sessionId) + "/transcript"))
      .then(function (data) {
        if (self.onSession) self.onSession(self.sessionId);
        var transfer = null;
        (data.entries || []).forEach(function (entry) {
          var state = self.renderEntry(entry);
          if (state !== undefined) transfer = state;
        });
        self.markAnswered();
        if (transfer === "active") self.agentConnected();
        else if (transfer === "offline") self.handleEvent({ type: "offline", message: "" });
        else if (transfer) self.waitForAgent();
        return true;
      })
      .catch(function (error) {
        if (error.status === 404) {
          self.setSession(null);
          return false;
        }
        throw error;
      })
      .finally(function () { self.setBusy(-1); });
  };

  /*
   * One stored transcript entry. For an event about a transfer it returns where the transfer
   * stands afterwards: "waiting", "active", "offline" (nobody available), or null once it
   * closed; undefined for the rest.
   */
  Chat.prototype.renderEntry = function (entry) {
    var payload = entry.payload || {};
    if (entry.kind === "customer") {
      if (payload.type === "text") this.addMessage("customer", payload.text);
      return undefined;
    }
    if (entry.kind === "event") {
      if (payload.type === "transfer_requested") return "waiting";
      if (payload.type !== "transfer" || !payload.to) return undefined;
      if (!OPEN_TRANSFER[payload.to]) return null;
      if (payload.to === "unavailable") return "offline";
      return payload.to === "active" ? "active" : "waiting";
    }
    if (entry.kind === "agent") {
      var name = (payload.agent && payload.agent.name) || "Agent";
      if (payload.type === "text") this.addAgentMessage(payload.text, name, payload.id);
      return undefined;
    }
    switch (payload.type) {
      case "text": this.addMessage("assistant", payload.text); break;
      case "options":
        this.addOptions(payload.title, (payload.choices || []).map(function (choice) {
          return { label: choice.label, value: choice.value };
        }));
        break;
      case "link": this.addLinkMessage(payload.label, payload.url); break;
      default: break;
    }
    return undefined;
  };

  /* Shows the customer's line and sends `text` (an option's value may differ from its label). */
  Chat.prototype.say = function (shown, text) {
    var self = this;
    this.markAnswered();
    this.addMessage("customer", shown);
    this.enqueue(function () {
      if (!self.sessionId) {
        return self.request("POST", self.path("/sessions?version=" + API_VERSION), {}).then(function (data) {
          self.setSession(data.session_id);
          return self.sendMessage(text);
        });
      }
      return self.sendMessage(text).catch(function (error) {
        // The session ended (inactivity): start a new one and say it there.
        if (error.status === 404 && (error.code === "session_expired" || error.code === "session_not_found")) {
          self.setSession(null);
          self.addStatusNote("Your previous conversation ended. Starting a new one.");
          return self.request("POST", self.path("/sessions?version=" + API_VERSION), {}).then(function (data) {
            self.setSession(data.session_id);
            return self.sendMessage(text);
          });
        }
        throw error;
      });
    });
  };

  Chat.prototype.sendMessage = function (text) {
    var self = this;
    var body = { input: { message_type: "text", text: text } };
    if (this.debug) body.input.options = { debug: true, return_context: true, alternate_intents: true };
    var url = this.path("/sessions/" + encodeURIComponent(this.sessionId) + "/message?version=" + API_VERSION);
    var headers = { "X-Client-Message-Id": randomId() };
    this.setBusy(1);
    var attempt = function (retries) {
      return self.request("POST", url, body, headers).catch(function (error) {
        // A network failure may hide a committed turn: retry with the same message id, which
        // the server answers from its stored reply instead of running the turn twice.
        if (error.status === undefined && retries > 0) return sleep(800).then(function () { return attempt(retries - 1); });
        throw error;
      });
    };
    return attempt(2)
      .then(function (response) { return self.renderResponse(response, text); })
      .finally(function () { self.setBusy(-1); });
  };

  Chat.prototype.renderResponse = function (response, text) {
    var self = this;
    var items = (response && response.output && response.output.generic) || [];
    var transferred = false;
    if (this.onTurn) {
      try { this.onTurn({ text: text, response: response }); } catch (e) { /* the page's problem */ }
    }
    var chain = Promise.resolve();
    items.forEach(function (item) {
      chain = chain.then(function () {
        switch (item.response_type) {
          case "text":
            if (item.agent) self.addAgentMessage(item.text, item.agent.name || "Agent", null);
            else self.addMessage("assistant", item.text);
            break;
          case "option":
            self.addOptions(item.title, (item.options || []).map(function (option) {
              return { label: option.label, value: option.value && option.value.input ? option.value.input.text : option.label };
            }));
            break;
          case "pause":
            self.setBusy(1);
            return sleep(Math.min(Number(item.time) || 0, MAX_PAUSE_MS)).then(function () { self.setBusy(-1); });
          case "connect_to_agent":
            transferred = true;
            self.expectConnect(item);
            break;
          default: break;
        }
      });
    });
    return chain.then(function () {
      if (transferred && !self.transfer) self.waitForAgent();
      else if (!transferred && self.transfer === "offline" && items.length) self.transferClosed();
    });
  };

  /*
   * A transfer began. Which of its two responses applies (agents available or not) only the
   * desk knows: the socket says `offline` right after the turn when nobody can come, so the
   * available response waits a moment for it.
   */
  Chat.prototype.expectConnect = function (item) {
    var self = this;
    var message = item.agent_available && item.agent_available.message;
    this.pendingConnect = message || null;
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(function () { self.showPendingConnect(); }, CONNECT_WAIT_MS);
  };

  Chat.prototype.showPendingConnect = function () {
    clearTimeout(this.connectTimer);
    var message = this.pendingConnect;
    this.pendingConnect = null;
    if (message) this.addMessage("assistant", message);
  };

  /*
   * An agent's message, shown with the agent's name. It may arrive twice, on the socket and in
   * the next reply's output.generic (for clients of the message API alone): shown once.
   */
  Chat.prototype.addAgentMessage = function (text, name, id) {
    if (text === undefined || text === null || text === "") return;
    var shown = this.agentShown;
    for (var i = 0; i < shown.length; i++) {
      // The same id with other words is another message (ids must not repeat, but a desk that
      // restarted might reuse one): only id and words together make a repeat.
      var sameId = id && shown[i].id === id && shown[i].text === text;
      var sameWords = !shown[i].matched && shown[i].text === text && shown[i].name === name && (!id || !shown[i].id);
      if (sameId || sameWords) {
        shown[i].matched = true;
        if (id) shown[i].id = id;
        return;
      }
    }
    shown.push({ id: id, text: text, name: name, matched: false });
    if (shown.length > 500) shown.shift();
    this.addMessage("agent", text, name);
    if (id) {
      this.lastAgentMessage = id;
      this.sendRead();
    }
  };

  Chat.prototype.addRow = function (who) {
    var row = el("div", "baton-wc-row baton-wc-" + who);
    this.log.appendChild(row);
    return row;
  };

  Chat.prototype.scroll = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Chat.prototype.addMessage = function (who, text, sender) {
    if (text === undefined || text === null || text === "") return;
    var row = this.addRow(who);
    var bubble = el("div", "baton-wc-bubble");
    var spoken = el("span", "baton-wc-sr-only", who === "customer" ? "You said: " : (sender || "Assistant") + " said: ");
    bubble.appendChild(spoken);
    if (sender) bubble.appendChild(el("span", "baton-wc-sender", sender));
    if (who === "customer") bubble.appendChild(document.createTextNode(String(text)));
    else appendRichText(bubble, String(text));
    row.appendChild(bubble);
    this.scroll();
  };

  Chat.prototype.addLinkMessage = function (label, url) {
    var row = this.addRow("assistant");
    var bubble = el("div", "baton-wc-bubble");
    appendLink(bubble, label, url);
    row.appendChild(bubble);
    this.scroll();
  };

  Chat.prototype.addOptions = function (title, choices) {
    var self = this;
    if (title) this.addMessage("assistant", title);
    var row = this.addRow("assistant");
    var group = el("div", "baton-wc-options");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", title || "Options");
    choices.forEach(function (choice) {
      var button = el("button", "baton-wc-option", choice.label);
      button.type = "button";
      button.addEventListener("click", function () {
        self.say(choice.label, choice.value);
        self.input.focus();
      });
      group.appendChild(button);
    });
    row.appendChild(group);
    this.scroll();
  };

  /* Option buttons of earlier turns stay visible but are no longer clickable. */
  Chat.prototype.markAnswered = function () {
    var buttons = this.log.querySelectorAll(".baton-wc-option");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
  };

  Chat.prototype.addStatusNote = function (text) {
    var row = this.addRow("note");
    row.appendChild(el("div", "baton-wc-note", text));
    this.scroll();
  };

  Chat.prototype.setStatus = function (text) {
    this.status.textContent = text || "";
    this.status.hidden = !text;
    this.statusBar.hidden = !text && this.cancelButton.hidden;
  };

  Chat.prototype.setBusy = function (delta) {
    this.busy = Math.max(0, this.busy + delta);
    this.updateTyping();
  };

  Chat.prototype.updateTyping = function () {
    var on = this.busy > 0 || this.agentTyping;
    this.typing.hidden = !on;
    this.root.setAttribute("aria-busy", this.busy > 0 ? "true" : "false");
    if (on) this.scroll();
  };

  Chat.prototype.showError = function (error) {
    var text = "Sorry, something went wrong. Please try again.";
    if (error && error.status === 429) text = "You're sending messages too quickly. Please wait a moment.";
    else if (error && error.status === undefined) text = "We couldn't reach the chat service. Check your connection and try again.";
    this.addStatusNote(text);
  };

  /* ---- between turns: the session's event socket ---- */

  Chat.prototype.waitForAgent = function () {
    this.transfer = "waiting";
    this.cancelButton.hidden = false;
    this.setStatus("Waiting for an agent\u2026");
    this.root.classList.add("baton-wc-transferred");
    this.socketWanted = true;
    this.connectEvents();
  };

  Chat.prototype.agentConnected = function () {
    this.transfer = "active";
    this.cancelButton.hidden = true;
    this.setStatus("");
    this.root.classList.add("baton-wc-transferred");
    this.socketWanted = true;
    this.connectEvents();
  };

  /* Back with the assistant: no agent, nothing to cancel, no socket needed. */
  Chat.prototype.transferClosed = function () {
    this.transfer = null;
    this.agentName = null;
    this.agentTyping = false;
    this.updateTyping();
    this.cancelButton.hidden = true;
    this.setStatus("");
    this.root.classList.remove("baton-wc-transferred");
    this.stopTyping();
  };

  /* The Cancel button: leave the queue; the assistant answers again. */
  Chat.prototype.cancelTransfer = function () {
    var self = this;
    if (!this.sessionId || this.transfer !== "waiting") return;
    this.cancelButton.disabled = true;
    this.enqueue(function () {
      var url = self.path("/sessions/" + encodeURIComponent(self.sessionId) + "/transfer/cancel?version=" + API_VERSION);
      self.setBusy(1);
      return self.request("POST", url, {})
        .then(function (response) {
          if (self.transfer) {
            self.addStatusNote("You left the queue.");
            self.transferClosed();
          }
          if (response && response.output) return self.renderResponse(response, "");
        })
        .catch(function (error) {
          // Nothing to cancel any more (an agent took the chat, or it ended): the socket says what.
          if (error.status === 404 || error.status === 409) return;
          throw error;
        })
        .finally(function () {
          self.cancelButton.disabled = false;
          self.setBusy(-1);
        });
    });
  };

  /* Typing frames while an agent is there: on at the first key, off after a pause or on send. */
  Chat.prototype.onInput = function () {
    var self = this;
    if (this.transfer !== "active") return;
    if (this.capabilities && !this.capabilities.customer_typing) return;
    if (!this.input.value) {
      this.stopTyping();
      return;
    }
    if (!this.typingSent) this.typingSent = this.sendFrame({ type: "typing", typing: true });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(function () { self.stopTyping(); }, TYPING_IDLE_MS);
  };

  Chat.prototype.stopTyping = function () {
    clearTimeout(this.typingTimer);
    if (this.typingSent) this.sendFrame({ type: "typing", typing: false });
    this.typingSent = false;
  };

  /* Tells the agent what the customer has seen: the last agent message, when the chat is open. */
  Chat.prototype.sendRead = function () {
    var id = this.lastAgentMessage;
    if (!id || this.readSent === id || this.panel.hidden) return;
    if (this.capabilities && !this.capabilities.customer_read) return;
    if (document.visibilityState === "hidden") return;
    if (this.sendFrame({ type: "read", up_to: id })) this.readSent = id;
  };

  Chat.prototype.sendFrame = function (frame) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  };

  /* The agent has read the customer's messages: the last one says so. */
  Chat.prototype.markRead = function () {
    var old = this.log.querySelectorAll(".baton-wc-receipt");
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
    var rows = this.log.querySelectorAll(".baton-wc-customer");
    if (!rows.length) return;
    var receipt = el("div", "baton-wc-receipt", "Read");
    rows[rows.length - 1].appendChild(receipt);
  };

  Chat.prototype.connectEvents = function () {
    var self = this;
    if (!this.socketWanted || this.socket || !this.sessionId || !window.WebSocket) return;
    var url = this.path("/sessions/" + encodeURIComponent(this.sessionId) + "/events?after=" + this.lastEventSeq)
      .replace(/^http/, "ws");
    var socket;
    try { socket = new WebSocket(url); } catch (e) { return; }
    this.socket = socket;
    var reconnected = this.socketDropped;
    // Events are numbered per server process and a restarted server counts from 1 again; on one
    // connection the server sends only numbers above `after`, so a lower number as the first
    // event of a connection means a new stream, not a repeat.
    var fresh = true;
    socket.onopen = function () {
      self.reconnectDelay = 1000;
      self.sendRead();
      // What happened while the socket was down may not be in the server's replay (it restarted):
      // the transcript has it.
      if (reconnected) self.resync();
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (typeof event.seq === "number") {
        if (event.seq <= self.lastEventSeq && !fresh) return;
        self.lastEventSeq = event.seq;
        storageSet(self.storageKey + ":events", String(event.seq));
      }
      fresh = false;
      self.handleEvent(event);
    };
    socket.onclose = function () {
      self.socket = null;
      self.socketDropped = true;
      if (!self.socketWanted) return;
      setTimeout(function () { self.connectEvents(); }, self.reconnectDelay);
      self.reconnectDelay = Math.min(self.reconnectDelay * 2, 30000);
    };
  };

  /* After the socket came back: agent messages and the transfer's state from the transcript. */
  Chat.prototype.resync = function () {
    var self = this;
    if (!this.sessionId) return;
    this.enqueue(function () {
      return self.request("GET", self.path("/sessions/" + encodeURIComponent(self.sessionId) + "/transcript"))
        .then(function (data) {
          var transfer;
          (data.entries || []).forEach(function (entry) {
            var payload = entry.payload || {};
            if (entry.kind === "agent" && payload.type === "text") {
              self.addAgentMessage(payload.text, (payload.agent && payload.agent.name) || "Agent", payload.id || null);
            } else if (entry.kind === "event" && payload.type === "transfer" && payload.to) {
              transfer = OPEN_TRANSFER[payload.to] ? payload.to : null;
            }
          });
          if (transfer === null && self.transfer) {
            self.transferClosed();
            self.addStatusNote("The chat with the agent has ended. You're back with the assistant.");
          }
        })
        .catch(function () { /* the next reconnect tries again */ });
    });
  };

  Chat.prototype.handleEvent = function (event) {
    var self = this;
    if (event.type === "offline") this.pendingConnect = null;
    else if (this.pendingConnect) this.showPendingConnect();
    switch (event.type) {
      case "desk":
        // What the desk holding the chat supports: typing and read frames go only where they arrive.
        this.capabilities = event.capabilities || null;
        break;
      case "queued":
        if (this.transfer !== "waiting") this.waitForAgent();
        if (event.position) {
          var wait = event.estimated_wait_secs ? " (about " + Math.max(1, Math.round(event.estimated_wait_secs / 60)) + " min)" : "";
          this.setStatus("Waiting for an agent\u2026 You are number " + event.position + " in the queue" + wait + ".");
        } else {
          this.setStatus("Waiting for an agent\u2026");
        }
        break;
      case "agent_joined":
        this.agentName = event.agent_name || "An agent";
        this.agentConnected();
        this.addStatusNote(this.agentName + " joined the chat.");
        break;
      case "agent_typing":
        this.agentTyping = !!event.typing;
        this.updateTyping();
        break;
      case "agent_message":
        this.agentTyping = false;
        this.updateTyping();
        if (this.transfer !== "active") this.agentConnected();
        this.addAgentMessage(event.text, event.agent_name || this.agentName || "Agent", event.id || null);
        break;
      case "agent_read":
        this.markRead();
        break;
      case "agent_left":
        this.agentTyping = false;
        this.updateTyping();
        this.addStatusNote((event.agent_name || "The agent") + " left the chat.");
        // Another agent may take over (a transfer): wait again until the socket says otherwise.
        if (this.transfer === "active") this.waitForAgent();
        break;
      case "ended":
        var wasWith = this.transfer;
        this.transferClosed();
        if (wasWith === "active") this.addStatusNote("The chat with the agent has ended. You're back with the assistant.");
        else if (wasWith === "waiting" && event.by === "customer") this.addStatusNote("You left the queue.");
        else if (wasWith === "waiting") this.addStatusNote("No agent could join. You're back with the assistant.");
        break;
      case "offline":
        clearTimeout(this.connectTimer);
        var last = this.log.querySelector(".baton-wc-row:last-child.baton-wc-assistant .baton-wc-bubble");
        var shown = last && last.textContent.indexOf(event.message) >= 0;
        if (event.message && !shown) this.addMessage("assistant", event.message);
        // Waiting in the queue anyway brings `queued`; otherwise the next reply closes this.
        this.transfer = "offline";
        this.cancelButton.hidden = true;
        this.setStatus("No agent is available right now.");
        this.socketWanted = true;
        this.connectEvents();
        break;
      case "assistant":
        this.transferClosed();
        this.renderResponse({ output: { generic: event.generic || [] } }, "").catch(function (error) {
          self.showError(error);
        });
        break;
      default: break;
    }
  };

  /* ---- embedding ---- */

  function mount(options) {
    injectStyle();
    return new Chat(options);
  }

  window.BatonWebChat = { mount: mount, version: 1 };

  var script = currentScript();
  if (script && script.getAttribute("data-assistant")) {
    var base = new URL(script.getAttribute("src"), document.baseURI);
    var options = {
      base: base.origin + base.pathname.replace(/\/webchat\.js$/, ""),
      assistant: script.getAttribute("data-assistant"),
      environment: script.getAttribute("data-environment") || "",
      title: script.getAttribute("data-title") || "",
      open: script.getAttribute("data-open") === "true"
    };
    var start = function () { window.BatonWebChat.instance = mount(options); };
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
  }
})();
