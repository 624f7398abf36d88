/*
 * The outsourcing assistant's chat widget: one script tag on any page.
 *
 *   <script src="https://bot.example.com/widget.js" defer
 *           data-server-url="https://bot.example.com:5005" data-title="Outsourcing assistant"></script>
 *
 * or, with data-autoinit="false" on the tag, `KpoChat.init({serverUrl, title})` from the page.
 * It talks to Rasa's socket.io channel (channels/socketio.py), loads socket.io-client from
 * vendor/ beside this file and its styles from widget.css, and lives in a shadow root so the
 * host page's CSS and its own never mix. Bot and user text is only ever set as textContent.
 */
(function () {
  "use strict";

  var SCRIPT = document.currentScript;
  var BASE = new URL(".", SCRIPT ? SCRIPT.src : location.href);
  var STORAGE_PREFIX = "kpo-chat:";
  var MAX_STORED_MESSAGES = 200;
  var REPLY_TIMEOUT_MS = 30000;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M3 11.5L21 3l-8.5 18-2.2-7.3L3 11.5z",
    up: "M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.5-7A2 2 0 0 0 18.8 10H14l.8-4.2A1.8 1.8 0 0 0 13 3.7L9 10v11z",
    down: "M17 14V3h4v11h-4zm-2-11H6.7a2 2 0 0 0-2 1.6l-1.5 7A2 2 0 0 0 5.2 14H10l-.8 4.2a1.8 1.8 0 0 0 1.8 2.1l4-6.3V3z",
  };

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    svg.classList.add("icon", "icon-" + name);
    return svg;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A link only for a real http(s) URL; anything else (javascript:, data:, ...) stays text.
  function safeHref(candidate) {
    try {
      var url = new URL(candidate);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

  // Appends text to node, with http(s) URLs as links (trailing punctuation left outside).
  function appendLinkified(node, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      var href = safeHref(url);
      if (!href) return match;
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = element("a", "link", url);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      node.appendChild(link);
      last = offset + url.length;
      return match;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(tag);
    });
  }

  function loadSocketIo() {
    if (window.io && window.io.Manager) return Promise.resolve(window.io);
    return loadScript(new URL("vendor/socket.io-client/socket.io.min.js", BASE).href)
      .then(function () { return window.io; });
  }

  // The conversation as data (never as HTML), kept per server in localStorage so that it
  // survives a reload: Rasa's socket.io channel does not replay history.
  function Store(serverUrl) {
    this.key = STORAGE_PREFIX + serverUrl;
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(this.key) || "null"); } catch (error) { saved = null; }
    this.state = { sessionId: null, open: false, messages: [] };
    if (saved && Array.isArray(saved.messages)) {
      this.state = {
        sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
        open: saved.open === true,
        messages: saved.messages.filter(wellFormed),
      };
    }
  }

  // What renderMessage can draw: anything else in storage (an older format, a hand edit) is left out.
  function wellFormed(message) {
    var strings = function (list) {
      return Array.isArray(list) && list.every(function (item) { return typeof item === "string"; });
    };
    if (!message) return false;
    if (message.role === "user") return typeof message.text === "string";
    return message.role === "bot" && strings(message.parts) && Array.isArray(message.buttons) &&
      message.buttons.every(function (button) {
        return button && typeof button.title === "string" && typeof button.payload === "string";
      });
  }
  Store.prototype.save = function () {
    this.state.messages = this.state.messages.slice(-MAX_STORED_MESSAGES);
    try { localStorage.setItem(this.key, JSON.stringify(this.state)); } catch (error) { /* full or blocked: the chat still works */ }
  };

  function Widget(options) {
    this.serverUrl = (options.serverUrl || location.protocol + "//" + location.hostname + ":5005").replace(/\/+$/, "");
    this.title = options.title || "Outsourcing assistant";
    this.initPayload = options.initPayload || "/greet";
    this.store = new Store(this.serverUrl);
    this.outbox = [];
    this.ready = false;          // connected and the session confirmed
    this.replyTo = null;         // what the next bot messages answer: {kind, question}
    this.current = null;         // the bot message being received
    this.typingTimer = null;
    this.build();
    this.renderAll();
    this.setStatus("connecting");
    if (this.store.state.open) this.open(false);
    var self = this;
    loadSocketIo().then(function (io) { self.connect(io); }, function () { self.setStatus("offline"); });
  }

  Widget.prototype.build = function () {
    var self = this;
    this.host = element("div");
    this.host.id = "kpo-chat-widget";
    this.host.hidden = true;  // until the styles are in, so nothing unstyled flashes
    var root = this.host.attachShadow({ mode: "open" });
    var styles = element("link");
    styles.rel = "stylesheet";
    styles.href = new URL("widget.css", BASE).href;
    styles.onload = styles.onerror = function () { self.host.hidden = false; };
    root.appendChild(styles);

    var panel = this.panel = element("section", "panel");
    panel.id = "kpo-chat-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", this.title);
    panel.hidden = true;

    var header = element("header", "header");
    var avatar = element("div", "avatar");
    avatar.appendChild(icon("chat"));
    var heading = element("div", "heading");
    heading.appendChild(element("h2", "title", this.title));
    this.statusLine = element("p", "status");
    this.statusLine.setAttribute("role", "status");
    heading.appendChild(this.statusLine);
    var close = element("button", "close");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
    close.appendChild(icon("close"));
    close.addEventListener("click", function () { self.close(true); });
    header.append(avatar, heading, close);

    this.log = element("ol", "log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-label", "Conversation");
    this.log.tabIndex = 0;

    this.typing = element("div", "typing");
    this.typing.setAttribute("aria-label", this.title + " is typing");
    this.typing.setAttribute("role", "status");
    this.typing.append(element("span"), element("span"), element("span"));
    this.typing.hidden = true;

    var form = element("form", "composer");
    this.input = element("input", "input");
    this.input.type = "text";
    this.input.maxLength = 1000;
    this.input.autocomplete = "off";
    this.input.placeholder = "Type your question…";
    this.input.setAttribute("aria-label", "Your question");
    var send = element("button", "send");
    send.type = "submit";
    send.setAttribute("aria-label", "Send");
    send.appendChild(icon("send"));
    form.append(this.input, send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.ask(text, text);
    });

    var footer = element("p", "footer", "Answers come from two articles on KPO and BPO; each names its source.");
    panel.append(header, this.log, this.typing, form, footer);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close(true);
    });

    this.launcher = element("button", "launcher");
    this.launcher.type = "button";
    this.launcher.setAttribute("aria-controls", panel.id);
    this.launcher.append(icon("chat"), icon("close"));
    this.launcher.addEventListener("click", function () {
      if (self.panel.hidden) self.open(true); else self.close(true);
    });
    this.updateLauncher();

    var container = element("div", "widget");
    container.append(panel, this.launcher);
    root.appendChild(container);
    document.body.appendChild(this.host);
  };

  Widget.prototype.updateLauncher = function () {
    var open = !this.panel.hidden;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat with " + this.title);
    this.launcher.classList.toggle("is-open", open);
  };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.store.state.open = true;
    this.store.save();
    this.updateLauncher();
    this.scrollToEnd();
    if (focus) this.input.focus();
    this.greetIfNew();
  };

  Widget.prototype.close = function (focus) {
    this.panel.hidden = true;
    this.store.state.open = false;
    this.store.save();
    this.updateLauncher();
    if (focus) this.launcher.focus();
  };

  // A new conversation opens with the assistant's welcome and starter questions (its greeting).
  Widget.prototype.greetIfNew = function () {
    if (this.panel.hidden || !this.ready || this.store.state.messages.length || this.replyTo) return;
    this.send(this.initPayload, null, { kind: "welcome", question: null });
  };

  Widget.prototype.setStatus = function (status) {
    this.status = status;
    var labels = { connecting: "Connecting…", online: "Online", offline: "Offline · reconnecting…" };
    var hints = {
      connecting: "Connecting to the assistant…",
      online: "",
      offline: "The assistant can't be reached right now. It reconnects by itself; you can type your question meanwhile.",
    };
    this.statusLine.textContent = labels[status];
    this.panel.dataset.status = status;
    this.log.dataset.empty = hints[status];
  };

  Widget.prototype.connect = function (io) {
    var self = this;
    var socket = this.socket = io(this.serverUrl, {
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 4000,
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: self.store.state.sessionId });
    });
    socket.on("session_confirm", function (sessionId) {
      if (typeof sessionId !== "string") sessionId = sessionId && sessionId.session_id;
      self.store.state.sessionId = sessionId;
      self.store.save();
      self.ready = true;
      self.setStatus("online");
      self.flush();
      self.greetIfNew();
    });
    socket.on("disconnect", function () {
      self.ready = false;
      self.setStatus("offline");
    });
    socket.on("connect_error", function () {
      self.ready = false;
      self.setStatus("offline");
    });
    socket.on("bot_uttered", function (message) { self.receive(message || {}); });
  };

  // What the user asked (shown as `shown`; `payload` is what Rasa gets: the text or a button's
  // intent payload).
  Widget.prototype.ask = function (payload, shown) {
    this.input.focus();
    this.add({ role: "user", text: shown });
    this.send(payload, null, { kind: "answer", question: shown });
  };

  Widget.prototype.send = function (payload, metadata, replyTo) {
    this.replyTo = replyTo;
    this.current = null;
    if (replyTo.kind === "answer") this.clearQuickReplies();
    this.outbox.push({ message: payload, metadata: metadata || {} });
    this.showTyping(true);
    this.flush();
  };

  // Messages wait until the session is confirmed: sent before, Rasa would answer into a room
  // this connection has not joined yet.
  Widget.prototype.flush = function () {
    while (this.ready && this.outbox.length) {
      var next = this.outbox.shift();
      next.session_id = this.store.state.sessionId;
      this.socket.emit("user_uttered", next);
    }
  };

  // Rasa sends each paragraph of an answer as a message of its own: they make one answer.
  Widget.prototype.receive = function (data) {
    this.showTyping(false);
    var text = typeof data.text === "string" ? data.text : "";
    var buttons = (data.quick_replies || data.buttons || []).filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string";
    }).map(function (button) { return { title: button.title, payload: button.payload }; });
    if (!text && !buttons.length) return;
    if (!this.current) {
      var replyTo = this.replyTo || { kind: "answer", question: null };
      this.current = { role: "bot", kind: replyTo.kind, question: replyTo.question, parts: [], buttons: [], rating: null };
      this.add(this.current);
    }
    if (text) this.current.parts.push(text);
    if (buttons.length) this.current.buttons = this.current.buttons.concat(buttons);
    this.store.save();
    this.renderMessage(this.current);
    this.reveal(this.current.element);
  };

  Widget.prototype.add = function (message) {
    this.store.state.messages.push(message);
    this.store.save();
    this.renderMessage(message);
    this.scrollToEnd();
  };

  Widget.prototype.rate = function (message, rating) {
    if (message.rating) return;
    message.rating = rating;
    this.store.save();
    this.renderMessage(message);
    this.send(rating === "up" ? "/feedback_positive" : "/feedback_negative",
      { feedback: { rating: rating, answer: message.parts.join("\n\n"), question: message.question } },
      { kind: "note", question: null });
    this.input.focus();
  };

  Widget.prototype.showTyping = function (on) {
    var self = this;
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    if (on) {
      this.typingTimer = setTimeout(function () { self.typing.hidden = true; }, REPLY_TIMEOUT_MS);
      this.scrollToEnd();
    }
  };

  Widget.prototype.clearQuickReplies = function () {
    var last = this.lastBotMessage();
    if (last && last.buttons.length) {
      last.buttons = [];
      this.store.save();
      this.renderMessage(last);
    }
  };

  Widget.prototype.lastBotMessage = function () {
    var messages = this.store.state.messages;
    for (var i = messages.length - 1; i >= 0; i--) if (messages[i].role === "bot") return messages[i];
    return null;
  };

  Widget.prototype.renderAll = function () {
    var self = this;
    this.log.textContent = "";
    this.store.state.messages.forEach(function (message) { self.renderMessage(message); });
  };

  // (Re)draws one message in place: its element is remembered on the message (not stored).
  Widget.prototype.renderMessage = function (message) {
    var self = this;
    var item = element("li", "message " + message.role + (message.kind ? " " + message.kind : ""));
    if (message.role === "user") {
      item.appendChild(element("span", "sr-only", "You: "));
      item.appendChild(element("p", "bubble", message.text));
    } else {
      item.appendChild(element("span", "sr-only", this.title + ": "));
      var bubble = element("div", "bubble");
      message.parts.forEach(function (part) {
        part.split("\n").filter(function (line) { return line.trim(); }).forEach(function (line) {
          var paragraph = element("p", /^Sources?:/.test(line) ? "source" : "text");
          appendLinkified(paragraph, line);
          bubble.appendChild(paragraph);
        });
      });
      item.appendChild(bubble);
      if (message.kind === "answer") item.appendChild(this.renderFeedback(message));
      if (message.buttons.length) {
        var replies = element("div", "quick-replies");
        replies.setAttribute("role", "group");
        replies.setAttribute("aria-label", "Suggested questions");
        message.buttons.forEach(function (button) {
          var choice = element("button", "quick-reply", button.title);
          choice.type = "button";
          choice.addEventListener("click", function () { self.ask(button.payload, button.title); });
          replies.appendChild(choice);
        });
        item.appendChild(replies);
      }
    }
    if (message.element && message.element.parentNode === this.log) {
      this.log.replaceChild(item, message.element);
    } else {
      this.log.appendChild(item);
    }
    Object.defineProperty(message, "element", { value: item, enumerable: false, configurable: true, writable: true });
  };

  Widget.prototype.renderFeedback = function (message) {
    var self = this;
    var row = element("div", "feedback");
    row.appendChild(element("span", "feedback-label", message.rating ? "Thanks for rating this answer" : "Was this helpful?"));
    [["up", "Helpful"], ["down", "Not helpful"]].forEach(function (choice) {
      var button = element("button", "rate rate-" + choice[0]);
      button.type = "button";
      button.setAttribute("aria-label", choice[1]);
      button.title = choice[1];
      button.setAttribute("aria-pressed", String(message.rating === choice[0]));
      button.disabled = Boolean(message.rating);
      button.appendChild(icon(choice[0]));
      button.addEventListener("click", function () { self.rate(message, choice[0]); });
      row.appendChild(button);
    });
    return row;
  };

  Widget.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  // Scrolls to the end, but never past the start of a long answer: it is read from the top.
  Widget.prototype.reveal = function (item) {
    var question = item.previousElementSibling;
    var anchor = question && question.classList.contains("user") ? question : item;
    var offset = anchor.getBoundingClientRect().top - this.log.getBoundingClientRect().top - 12;
    this.log.scrollTop = Math.min(this.log.scrollHeight, this.log.scrollTop + Math.max(0, offset));
    var end = this.log.scrollHeight - this.log.clientHeight;
    if (this.log.scrollTop > end) this.log.scrollTop = end;
  };

  var instance = null;

  window.KpoChat = {
    init: function (options) {
      if (!instance) instance = new Widget(options || {});
      return instance;
    },
  };

  if (SCRIPT && SCRIPT.dataset.autoinit !== "false") {
    var start = function () {
      window.KpoChat.init({
        serverUrl: SCRIPT.dataset.serverUrl,
        title: SCRIPT.dataset.title,
        initPayload: SCRIPT.dataset.initPayload,
      });
    };
    if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  }
})();
