/*
 * The outsourcing assistant's chat widget: one script tag on any page.
 *
 *   <script src="https://bot.example.com/widget.js" defer
 *           data-server-url="https://bot.example.com:5005" data-title="Outsourcing assistant"></script>
 *
 * or, with data-autoinit="false" on the tag, `KpoChat.init({serverUrl, title})` from the page.
 * It talks to Rasa's socket.io channel (channels/socketio.py), loads socket.io-client from
 * vendor/ beside this file and its styles from widget.css, and lives in a shadow root so the
 * host page's CSS and its own never mix. Text is never parsed as HTML: user text is set as
 * textContent, the bot's Markdown (bold, lists, links) is built node by node.
 */
(function () {
  "use strict";

  var SCRIPT = document.currentScript;
  var BASE = new URL(".", SCRIPT ? SCRIPT.src : location.href);
  var STORAGE_PREFIX = "kpo-chat:";
  var MAX_STORED_MESSAGES = 200;
  var REPLY_TIMEOUT_MS = 30000;
  // Rasa sends an answer's paragraphs as messages of their own, back to back: an answer is
  // complete when its "Source:" part is in, or when nothing more came for this long.
  var SETTLE_MS = 800;
  var MAX_LENGTH = 2000;  // channels/rest.py MESSAGE_MAX_LENGTH: the server refuses longer
  var TAB = Math.random().toString(36).slice(2);
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    restart: "M4 12a8 8 0 1 0 2.3-5.6M4 4v4.5h4.5",
    send: "M3 11.5L21 3l-8.5 18-2.2-7.3L3 11.5z",
    up: "M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.5-7A2 2 0 0 0 18.8 10H14l.8-4.2A1.8 1.8 0 0 0 13 3.7L9 10v11z",
    down: "M17 14V3h4v11h-4zm-2-11H6.7a2 2 0 0 0-2 1.6l-1.5 7A2 2 0 0 0 5.2 14H10l-.8 4.2a1.8 1.8 0 0 0 1.8 2.1l4-6.3V3z",
  };

  // Everything the widget says, for KpoChat.init({strings}) or data-strings (JSON) to change,
  // e.g. into another language; {name}s are filled in.
  var STRINGS = {
    openChat: "Open chat with {title}", closeChat: "Close chat", unread: "({count} unread)",
    newConversation: "New conversation", conversation: "Conversation", you: "You",
    placeholder: "Type your question…", question: "Your question", send: "Send",
    moreBelow: "More below", suggested: "Suggested questions", notSent: "Not sent yet",
    helpful: "Was this helpful?", rated: "Thanks for rating this answer", up: "Helpful",
    down: "Not helpful", image: "Image from {title}",
    count: "{count} / {max} characters", tooLong: "{count} / {max} characters: {over} too many to send",
    footer: "Answers come from two articles on KPO and BPO; each names its source.",
    connecting: "Connecting…", online: "Online", offline: "Offline · reconnecting…",
    refused: "Not available on this site",
    connectingHint: "Connecting to the assistant…",
    offlineHint: "The assistant can't be reached right now. It reconnects by itself; you can type your question meanwhile.",
    refusedHint: "The assistant's server does not accept connections from this site ({origin}). If this is your site, add its origin to the server's allowed origins (WIDGET_ORIGINS).",
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

  function link(text, href) {
    var anchor = element("a", "link", text);
    anchor.href = href;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    return anchor;
  }

  // The Markdown answers use, built as DOM nodes (never parsed as HTML): **bold**, [text](url)
  // and bare http(s) URLs. A link to anything but http(s) keeps its text and loses the link.
  // (A link's URL may hold one level of parentheses, as Wikipedia's do.)
  var INLINE = /\*\*(?=\S)([^*]*\S)\*\*|\[([^\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)|\bhttps?:\/\/[^\s<>"']+/gi;

  function appendInline(node, text) {
    var last = 0;
    text.replace(INLINE, function (match, bold, label, target, offset) {
      var length = match.length;
      var piece;
      if (bold !== undefined) {
        piece = element("strong");
        appendInline(piece, bold);
      } else if (label !== undefined) {
        var href = safeHref(target);
        piece = href ? link(label, href) : document.createTextNode(label);
      } else {
        var url = match.replace(/[.,;:!?)\]]+$/, "");  // trailing punctuation stays outside
        length = url.length;
        piece = safeHref(url) ? link(url, safeHref(url)) : document.createTextNode(url);
      }
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      node.appendChild(piece);
      last = offset + length;
      return match;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  var BULLET = /^\s*[-*•]\s+/;
  var NUMBERED = /^\s*\d+[.)]\s+/;

  // Appends one part of a bot message: paragraphs, lists of "- " or "1. " lines, the source line.
  function appendMarkdown(node, text) {
    var list = null;
    text.split("\n").filter(function (line) { return line.trim(); }).forEach(function (line) {
      var kind = BULLET.test(line) ? "ul" : NUMBERED.test(line) ? "ol" : null;
      if (!kind) {
        list = null;
        var paragraph = element("p", /^Sources?:/.test(line) ? "source" : "text");
        appendInline(paragraph, line);
        node.appendChild(paragraph);
        return;
      }
      if (!list || list.tagName.toLowerCase() !== kind) {
        list = element(kind, "list");
        node.appendChild(list);
      }
      var item = element("li");
      appendInline(item, line.replace(kind === "ul" ? BULLET : NUMBERED, ""));
      list.appendChild(item);
    });
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

  function newId() { return Math.random().toString(36).slice(2) + Date.now().toString(36); }

  // The conversation as data (never as HTML), kept per server in localStorage so that it
  // survives a reload (Rasa's socket.io channel does not replay history) and so that the tabs
  // of one browser, which share the session, show the same conversation: every change re-reads
  // the stored state first, and the other tabs redraw on the storage event.
  function Store(serverUrl) {
    this.key = STORAGE_PREFIX + serverUrl;
    this.load();
  }

  Store.prototype.load = function () {
    var saved = null;
    try {
      this.raw = localStorage.getItem(this.key);
      saved = JSON.parse(this.raw || "null");
    } catch (error) { saved = null; }
    var state = { sessionId: null, open: false, unread: 0, messages: [], awaiting: null };
    if (saved && Array.isArray(saved.messages)) {
      state.sessionId = typeof saved.sessionId === "string" ? saved.sessionId : null;
      state.open = saved.open === true;
      state.unread = typeof saved.unread === "number" && saved.unread > 0 ? Math.floor(saved.unread) : 0;
      state.messages = saved.messages.filter(wellFormed).map(function (message) {
        if (typeof message.id !== "string") message.id = newId();
        return message;
      });
      if (saved.awaiting && typeof saved.awaiting === "object") state.awaiting = saved.awaiting;
    }
    this.state = state;
  };

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
      }) &&
      (message.custom === undefined || Array.isArray(message.custom)) &&
      (message.images === undefined || Array.isArray(message.images) && message.images.every(function (image) {
        return image && typeof image.src === "string" && safeHref(image.src) && typeof image.alt === "string";
      }));
  }

  Store.prototype.save = function () {
    this.state.messages = this.state.messages.slice(-MAX_STORED_MESSAGES);
    var raw = JSON.stringify(this.state);
    if (raw === this.raw) return;  // no change, no storage event for the other tabs
    this.raw = raw;
    try { localStorage.setItem(this.key, raw); } catch (error) { /* full or blocked: the chat still works */ }
  };

  // Applies change(state) to the latest stored state and saves it.
  Store.prototype.update = function (change) {
    this.load();
    var result = change(this.state);
    this.save();
    return result;
  };

  // The reply the last message sent asked for, unless it is overdue (lost, or its tab died).
  function awaited(state) {
    var awaiting = state.awaiting;
    return awaiting && Date.now() - (awaiting.since || 0) < REPLY_TIMEOUT_MS ? awaiting : null;
  }

  // That reply, while it is still coming.
  function replyDue(state) {
    var awaiting = awaited(state);
    return awaiting && !awaiting.done ? awaiting : null;
  }

  // An image as Rasa's socket.io channel sends one (an http(s) URL only).
  function imageOf(data, title) {
    var attachment = data.attachment;
    var payload = attachment && attachment.type === "image" && attachment.payload;
    var src = payload && typeof payload.src === "string" && safeHref(payload.src);
    if (!src) return null;
    return { src: src, alt: typeof payload.alt === "string" ? payload.alt : title };
  }

  function luminance(rgb) {
    return rgb.map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, c, i) { return sum + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }

  function findIn(state, id) {
    return state.messages.filter(function (message) { return message.id === id; })[0] || null;
  }

  function hasSource(message) {
    return message.parts.some(function (part) { return /(^|\n)Sources?:/.test(part); });
  }

  function Widget(options) {
    var self = this;
    this.serverUrl = (options.serverUrl || location.protocol + "//" + location.hostname + ":5005").replace(/\/+$/, "");
    this.title = options.title || "Outsourcing assistant";
    this.strings = {};
    var strings = options.strings || {};
    Object.keys(STRINGS).forEach(function (key) {
      self.strings[key] = typeof strings[key] === "string" ? strings[key] : STRINGS[key];
    });
    this.lang = options.lang || document.documentElement.lang || "en";
    this.theme = /^(light|dark)$/.test(options.theme) ? options.theme : "auto";
    this.position = options.position === "left" ? "left" : "right";
    this.brandColor = options.brandColor && CSS.supports("color", options.brandColor) ? options.brandColor : null;
    this.initPayload = options.initPayload || "/greet";
    this.renderCustom = typeof options.renderCustom === "function" ? options.renderCustom : null;
    this.listeners = { open: [], close: [], message: [], feedback: [] };
    this.store = new Store(this.serverUrl);
    this.outbox = [];            // the greeting or feedback waiting for the connection (questions wait in the store)
    this.ready = false;          // connected and the session confirmed
    this.connected = false;      // connected once since the page loaded
    this.rendered = {};          // message id -> {json, element}
    this.settled = null;         // the reply being received, until it is complete
    this.settleTimer = null;
    this.replyTimer = null;
    this.build();
    this.renderAll();
    this.setStatus("connecting");
    if (this.store.state.open) this.open(false);
    window.addEventListener("storage", function (event) {
      if (event.key === self.store.key) self.refresh();
    });
    // Questions this tab still holds are handed to the next tab or page load that can send them.
    window.addEventListener("pagehide", function () { self.release(); });
    loadSocketIo().then(function (io) { self.connect(io); }, function () { self.setStatus("offline"); });
  }

  // A string of the widget's, its {name}s filled in from values (and {title} always).
  Widget.prototype.text = function (key, values) {
    var all = Object.assign({ title: this.title }, values);
    return this.strings[key].replace(/\{(\w+)\}/g, function (match, name) {
      return name in all ? all[name] : match;
    });
  };

  Widget.prototype.number = function (value) {
    try { return value.toLocaleString(this.lang); } catch (error) { return String(value); }
  };

  // "auto" follows the system's light or dark scheme, also when it changes while the page is open.
  Widget.prototype.followTheme = function (container) {
    var scheme = this.theme === "auto" && window.matchMedia
      ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    if (!scheme) {
      container.dataset.theme = this.theme === "dark" ? "dark" : "light";
      return;
    }
    var apply = function () { container.dataset.theme = scheme.matches ? "dark" : "light"; };
    apply();
    if (scheme.addEventListener) scheme.addEventListener("change", apply);
  };

  Widget.prototype.build = function () {
    var self = this;
    this.host = element("div");
    this.host.id = "kpo-chat-widget";
    var root = this.host.attachShadow({ mode: "open" });
    var container = element("div", "widget");
    container.lang = this.lang;
    this.followTheme(container);
    container.dataset.position = this.position;
    if (this.brandColor) this.applyBrand(container);
    container.hidden = true;  // until the styles are in, so nothing unstyled flashes
    var styles = element("link");
    styles.rel = "stylesheet";
    styles.href = new URL("widget.css", BASE).href;
    styles.onload = styles.onerror = function () {
      container.hidden = false;
      // Only now has the conversation a height to scroll.
      if (!self.panel.hidden) self.scrollToEnd();
    };
    root.appendChild(styles);

    var panel = this.panel = element("section", "panel");
    panel.id = "kpo-chat-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", this.title);
    panel.hidden = true;

    var header = element("div", "header");
    var avatar = element("div", "avatar");
    avatar.appendChild(icon("chat"));
    var heading = element("div", "heading");
    heading.appendChild(element("h2", "title", this.title));
    this.statusLine = element("p", "status");
    this.statusLine.setAttribute("role", "status");
    heading.appendChild(this.statusLine);
    var close = element("button", "close");
    close.type = "button";
    close.setAttribute("aria-label", this.text("closeChat"));
    close.appendChild(icon("close"));
    close.addEventListener("click", function () { self.close(true); });
    var restart = element("button", "restart");
    restart.type = "button";
    restart.setAttribute("aria-label", this.text("newConversation"));
    restart.title = this.text("newConversation");
    restart.appendChild(icon("restart"));
    restart.addEventListener("click", function () { self.clear(); self.input.focus(); });
    header.append(avatar, heading, restart, close);

    // Not a live region: it is redrawn as an answer's parts come in and its buttons go, and
    // screen readers would read an answer several times. The announcer reads each reply once.
    this.log = element("ol", "log");
    this.log.setAttribute("aria-label", this.text("conversation"));
    this.log.tabIndex = 0;
    this.log.addEventListener("scroll", function () { self.updateMore(); });

    // Says there is more below when the end of the conversation (the follow-ups) is out of view.
    this.more = element("button", "more", this.text("moreBelow"));
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", function () { self.scrollToEnd(); self.input.focus(); });

    this.announcer = element("div", "sr-only");
    this.announcer.setAttribute("aria-live", "polite");

    this.typing = element("div", "typing");
    this.typing.setAttribute("aria-hidden", "true");
    this.typing.append(element("span"), element("span"), element("span"));
    this.typing.hidden = true;

    var form = element("form", "composer");
    this.input = element("input", "input");
    this.input.type = "text";
    this.input.autocomplete = "off";
    this.input.placeholder = this.text("placeholder");
    this.input.setAttribute("aria-label", this.text("question"));
    this.input.setAttribute("aria-describedby", "kpo-chat-counter");
    // No maxlength: a paste over the limit would be cut silently. The counter says what is over.
    this.input.addEventListener("input", function () { self.updateCounter(); });
    var send = element("button", "send");
    send.type = "submit";
    send.setAttribute("aria-label", this.text("send"));
    send.appendChild(icon("send"));
    form.append(this.input, send);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text || text.length > MAX_LENGTH) return;
      self.input.value = "";
      self.updateCounter();
      self.ask(text, text);
    });
    this.counter = element("p", "counter");
    this.counter.id = "kpo-chat-counter";
    this.counter.hidden = true;

    var footer = element("p", "footer", this.text("footer"));
    var conversation = element("div", "conversation");
    // Before the log, so that Shift+Tab from the input reaches the last follow-up first.
    conversation.append(this.more, this.log);
    panel.append(header, conversation, this.typing, form, this.counter, footer, this.announcer);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close(true);
      if (event.key === "Tab" && self.isModal()) self.trapFocus(event);
    });
    // On phones the open chat covers the page: a modal dialog, the focus kept inside.
    this.phone = window.matchMedia("(max-width: 480px)");
    var modal = function () { panel.setAttribute("aria-modal", String(self.phone.matches)); };
    modal();
    this.phone.addEventListener("change", modal);

    this.launcher = element("button", "launcher");
    this.launcher.type = "button";
    this.launcher.setAttribute("aria-controls", panel.id);
    this.badge = element("span", "badge");
    this.badge.setAttribute("aria-hidden", "true");  // the launcher's label says it
    this.launcher.append(icon("chat"), icon("close"), this.badge);
    this.launcher.addEventListener("click", function () {
      if (self.panel.hidden) self.open(true); else self.close(true);
    });
    this.updateLauncher();

    container.append(panel, this.launcher);
    container.setAttribute("role", "complementary");
    container.setAttribute("aria-label", this.title);
    root.appendChild(container);
    document.body.appendChild(this.host);
  };

  // The site's colour for the launcher, the header and the user's bubbles, with text on it in
  // white or ink, whichever contrasts more, and as a text colour only where it is readable.
  Widget.prototype.applyBrand = function (container) {
    var probe = element("span");
    probe.style.color = this.brandColor;
    document.body.appendChild(probe);
    var rgb = getComputedStyle(probe).color.match(/[\d.]+/g).slice(0, 3).map(Number);
    probe.remove();
    var brand = luminance(rgb);
    var contrast = function (other) { return (Math.max(brand, other) + 0.05) / (Math.min(brand, other) + 0.05); };
    var white = 1, ink = luminance([29, 34, 51]), darkSurface = luminance([27, 31, 46]);
    var style = container.style;
    style.setProperty("--brand", this.brandColor);
    style.setProperty("--on-brand", contrast(white) >= contrast(ink) ? "#fff" : "#1d2233");
    style.setProperty("--header", this.brandColor);
    style.setProperty("--brand-on-light", contrast(white) >= 4.5 ? this.brandColor : "#1d2233");
    style.setProperty("--brand-on-dark", contrast(darkSurface) >= 4.5 ? this.brandColor : "#e6e8f0");
  };

  Widget.prototype.isModal = function () {
    return this.phone.matches && !this.panel.hidden;
  };

  Widget.prototype.trapFocus = function (event) {
    var focusable = Array.prototype.filter.call(
      this.panel.querySelectorAll("button, input, [tabindex]"),
      function (node) { return !node.disabled && node.offsetParent !== null && node.tabIndex >= 0; });
    if (!focusable.length) return;
    var first = focusable[0], last = focusable[focusable.length - 1];
    var active = this.host.shadowRoot.activeElement;
    if (event.shiftKey && (active === first || !this.panel.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  };

  Widget.prototype.updateCounter = function () {
    var length = this.input.value.length;
    var over = length > MAX_LENGTH;
    // Shown from 90% of the limit on, so a long paste is noticed before it is refused.
    this.counter.hidden = length < MAX_LENGTH * 0.9;
    this.counter.textContent = this.text(over ? "tooLong" : "count", {
      count: this.number(length), max: this.number(MAX_LENGTH), over: this.number(length - MAX_LENGTH),
    });
    this.counter.classList.toggle("is-over", over);
    if (over) this.input.setAttribute("aria-invalid", "true"); else this.input.removeAttribute("aria-invalid");
  };

  Widget.prototype.updateLauncher = function () {
    var open = !this.panel.hidden;
    var unread = open ? 0 : this.store.state.unread;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.launcher.setAttribute("aria-label", open ? this.text("closeChat") : this.text("openChat") +
      (unread ? " " + this.text("unread", { count: unread }) : ""));
    this.badge.textContent = unread > 9 ? "9+" : String(unread);
    this.badge.hidden = !unread;
    this.launcher.classList.toggle("is-open", open);
  };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.store.update(function (state) { state.open = true; state.unread = 0; });
    this.updateLauncher();
    this.scrollToEnd();
    if (focus) this.input.focus();
    this.greetIfNew();
    this.fire("open", {});
  };

  Widget.prototype.close = function (focus) {
    this.panel.hidden = true;
    this.store.update(function (state) { state.open = false; });
    this.updateLauncher();
    if (focus) this.launcher.focus();
    this.fire("close", {});
  };

  // Calls the site's listeners (KpoChat.on); one that throws does not stop the chat.
  Widget.prototype.fire = function (event, detail) {
    this.listeners[event].forEach(function (listener) {
      try { listener(detail); } catch (error) { console.error("KpoChat: a '" + event + "' listener failed", error); }
    });
  };

  // A new conversation: the history goes, and the server issues a new session (the assistant
  // forgets the old one's context too).
  Widget.prototype.clear = function () {
    clearTimeout(this.settleTimer);  // the old conversation's last reply is not read out
    this.settled = null;
    this.outbox = [];
    this.store.update(function (state) {
      state.messages = [];
      state.awaiting = null;
      state.sessionId = null;
    });
    this.renderAll();
    this.updateTyping();
    this.joinSession();
  };

  Widget.prototype.joinSession = function () {
    this.ready = false;
    this.joined = this.store.state.sessionId;
    if (this.socket && this.socket.connected) {
      this.socket.emit("session_request", { session_id: this.store.state.sessionId });
    }
  };

  // A new conversation opens with the assistant's welcome and starter questions (its greeting).
  Widget.prototype.greetIfNew = function () {
    if (this.panel.hidden || !this.ready) return;
    var state = this.store.state;
    if (state.messages.length || awaited(state) || this.outbox.length) return;
    this.send(this.initPayload, null, { kind: "welcome" });
  };

  Widget.prototype.setStatus = function (status) {
    this.status = status;
    this.statusLine.textContent = this.text(status);
    this.panel.dataset.status = status;
    this.log.dataset.empty = status === "online" ? "" : this.text(status + "Hint", { origin: location.origin });
    this.updateTyping();
  };

  Widget.prototype.connect = function (io) {
    var self = this;
    var socket = this.socket = io(this.serverUrl, {
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 4000,
    });
    socket.on("connect", function () { self.joinSession(); });
    socket.on("session_confirm", function (sessionId) {
      if (typeof sessionId !== "string") sessionId = sessionId && sessionId.session_id;
      self.joined = sessionId;
      self.store.update(function (state) { state.sessionId = sessionId; });
      self.ready = self.connected = true;
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
      if (self.connected || self.status === "refused") return self.setStatus(self.status === "refused" ? "refused" : "offline");
      self.diagnose();
    });
    socket.on("bot_uttered", function (message) { self.receive(message || {}); });
  };

  // A page whose origin the server does not allow gets a bare 400, which scripts can't read:
  // if the server answers a plain request, the socket was refused rather than unreachable.
  Widget.prototype.diagnose = function () {
    var self = this;
    if (this.diagnosing) return;
    this.diagnosing = true;
    fetch(this.serverUrl + "/", { mode: "no-cors", cache: "no-store", credentials: "omit" }).then(function () {
      if (self.connected) return;
      self.setStatus("refused");
      console.error("KpoChat: " + self.serverUrl + " refused the chat connection from " + location.origin +
        ". Allow this origin on the server (WIDGET_ORIGINS, channels/socketio.py).");
    }, function () {
      if (!self.connected) self.setStatus("offline");
    }).then(function () { self.diagnosing = false; });
  };

  // What the user asked (shown as `shown`; `payload` is what Rasa gets: the text or a button's
  // intent payload). It is stored at once, marked as not sent until the server has it.
  Widget.prototype.ask = function (payload, shown) {
    this.input.focus();
    var id = newId();
    this.store.update(function (state) {
      // The previous answer's follow-ups make way for the new question.
      var answered = lastBot(state);
      if (answered) answered.buttons = [];
      state.messages.push({ id: id, role: "user", text: shown, payload: payload, pending: TAB, time: Date.now() });
    });
    this.renderAll();
    this.scrollToEnd();
    this.flush();
    this.fire("message", { role: "user", text: shown, payload: payload });
  };

  // Messages that are not questions (the greeting, feedback) are sent without being shown.
  Widget.prototype.send = function (payload, metadata, awaiting) {
    this.outbox.push({ message: payload, metadata: metadata || {}, awaiting: awaiting });
    this.flush();
  };

  // Sends the next message once the session is confirmed (sent before, Rasa would answer into a
  // room this connection has not joined yet) and the previous reply is complete: replies carry
  // nothing saying which message they answer, so one message is answered at a time. Questions
  // another tab left unsent are sent here too.
  Widget.prototype.flush = function () {
    var self = this;
    var next = this.ready && this.store.update(function (state) {
      if (replyDue(state)) return null;
      var item = self.outbox.shift();
      var question = !item && state.messages.filter(function (message) {
        return message.role === "user" && (message.pending === TAB || message.pending === "");
      })[0];
      if (question) {
        delete question.pending;
        item = { message: question.payload || question.text, metadata: {},
          awaiting: { kind: "answer", question: question.text } };
      }
      if (item) state.awaiting = Object.assign({ tab: TAB, since: Date.now() }, item.awaiting);
      return item;
    });
    if (next) {
      this.emit({ message: next.message, metadata: next.metadata });
      this.renderAll();
    }
    this.updateTyping();
  };

  Widget.prototype.emit = function (message) {
    message.session_id = this.store.state.sessionId;
    this.socket.emit("user_uttered", message);
  };

  Widget.prototype.release = function () {
    this.store.update(function (state) {
      state.messages.forEach(function (message) { if (message.pending === TAB) message.pending = ""; });
      if (state.awaiting && state.awaiting.tab === TAB) state.awaiting.tab = "";
    });
  };

  // Every tab of the session gets the replies: the tab that asked records them (or, when it is
  // gone, the first tab to get them), the others redraw from the store.
  Widget.prototype.receive = function (data) {
    var text = typeof data.text === "string" ? data.text : "";
    var buttons = (data.quick_replies || data.buttons || []).filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string";
    }).map(function (button) { return { title: button.title, payload: button.payload }; });
    var image = imageOf(data, this.text("image"));
    // Anything else is a custom payload (a domain's `custom:` response): the site's to render.
    var custom = text || buttons.length || image ? null : data;
    var recorded = this.store.update(function (state) {
      // A late part of a complete answer still joins it (nothing newer was sent meanwhile); a
      // reply nothing asked for is recorded too.
      var awaiting = awaited(state);
      if (!awaiting || awaiting.done && !awaiting.message) awaiting = { tab: "", kind: "answer", question: null };
      if (awaiting.tab && awaiting.tab !== TAB) return null;
      awaiting.tab = TAB;
      awaiting.since = Date.now();
      state.awaiting = awaiting;
      // The reply to a rating belongs under the answer it rates, not at the end of the chat.
      var rated = awaiting.kind === "feedback" && findIn(state, awaiting.rated);
      if (rated) {
        rated.feedbackReply = text;
        return rated;
      }
      var current = awaiting.message && findIn(state, awaiting.message);
      if (!current) {
        current = { id: newId(), role: "bot", kind: awaiting.kind, question: awaiting.question,
          parts: [], buttons: [], rating: null, time: Date.now() };
        state.messages.push(current);
        awaiting.message = current.id;
        // Answers that come while the chat is closed (asked through KpoChat.send, or before
        // closing) are counted on the launcher.
        if (!state.open) state.unread += 1;
      }
      if (text) current.parts.push(text);
      if (image) current.images = (current.images || []).concat([image]);
      if (custom) current.custom = (current.custom || []).concat([custom]);
      if (buttons.length) current.buttons = current.buttons.concat(buttons);
      return current;
    });
    if (!recorded) return;
    this.renderAll();
    this.updateLauncher();
    if (recorded.feedbackReply === undefined) this.reveal(this.rendered[recorded.id].element);
    this.updateTyping();
    var self = this;
    clearTimeout(this.settleTimer);
    this.settled = recorded.id;
    // Rasa puts the buttons on a reply's last part, and an answer's source is its last line.
    if (buttons.length || recorded.feedbackReply !== undefined || /(^|\n)Sources?:/.test(text)) this.complete();
    else this.settleTimer = setTimeout(function () { self.complete(); }, SETTLE_MS);
  };

  // The reply being received is complete: the next message may go.
  Widget.prototype.complete = function () {
    this.settle();
    this.store.update(function (state) {
      if (state.awaiting && state.awaiting.tab === TAB) state.awaiting.done = true;
    });
    this.flush();
  };

  // The reply being received is complete: read out once.
  Widget.prototype.settle = function () {
    clearTimeout(this.settleTimer);
    var message = this.settled && findIn(this.store.state, this.settled);
    this.settled = null;
    if (!message) return;
    var text = message.feedbackReply !== undefined ? message.feedbackReply : message.parts.join("\n");
    if (text) this.announcer.textContent = this.title + ": " + text;
    if (message.feedbackReply === undefined) {
      this.fire("message", { role: "bot", text: message.parts.join("\n\n"), parts: message.parts.slice(),
        buttons: message.buttons.slice(), images: (message.images || []).slice(),
        custom: (message.custom || []).slice(), question: message.question || null });
    }
  };

  Widget.prototype.rate = function (message, rating) {
    if (message.rating) return;
    this.store.update(function (state) {
      var stored = findIn(state, message.id);
      if (stored) stored.rating = rating;
    });
    this.renderAll();
    var feedback = { rating: rating, answer: message.parts.join("\n\n"), question: message.question };
    this.send(rating === "up" ? "/feedback_positive" : "/feedback_negative", { feedback: feedback },
      { kind: "feedback", rated: message.id });
    this.fire("feedback", feedback);
    this.input.focus();
  };

  // The dots mean the assistant is writing: only while connected and a reply is due.
  Widget.prototype.updateTyping = function () {
    var self = this;
    var awaiting = replyDue(this.store.state);
    var show = Boolean(this.ready && awaiting && !awaiting.message && awaiting.kind !== "feedback");
    clearTimeout(this.replyTimer);
    if (show !== !this.typing.hidden) {
      this.typing.hidden = !show;
      if (show) this.scrollToEnd();
    }
    // A reply that never comes stops holding the next message back.
    if (awaiting) {
      this.replyTimer = setTimeout(function () { self.flush(); }, REPLY_TIMEOUT_MS - (Date.now() - awaiting.since) + 50);
    }
  };

  function lastBot(state) {
    for (var i = state.messages.length - 1; i >= 0; i--) if (state.messages[i].role === "bot") return state.messages[i];
    return null;
  }

  // Another tab changed the conversation.
  Widget.prototype.refresh = function () {
    var atEnd = this.atEnd();
    this.store.load();
    this.renderAll();
    if (atEnd) this.scrollToEnd();
    this.updateTyping();
    this.updateLauncher();
    // Another tab started a new conversation: this one joins it once the server confirmed it.
    var sessionId = this.store.state.sessionId;
    if (sessionId && sessionId !== this.joined) this.joinSession();
    else this.flush();  // another tab's reply may be complete, or it left a question unsent
  };

  // Brings the log in line with the store: messages that did not change keep their element.
  Widget.prototype.renderAll = function () {
    var self = this;
    var seen = {};
    var previous = null;
    this.store.state.messages.forEach(function (message) {
      var json = JSON.stringify(message);
      var known = self.rendered[message.id];
      if (!known || known.json !== json) {
        var item = self.renderMessage(message);
        if (known) self.log.replaceChild(item, known.element);
        known = self.rendered[message.id] = { json: json, element: item };
      }
      seen[message.id] = true;
      var expected = previous ? previous.nextSibling : self.log.firstChild;
      if (known.element !== expected) self.log.insertBefore(known.element, expected);
      previous = known.element;
    });
    Object.keys(this.rendered).forEach(function (id) {
      if (seen[id]) return;
      self.rendered[id].element.remove();
      delete self.rendered[id];
    });
    this.updateMore();
  };

  Widget.prototype.renderMessage = function (message) {
    var self = this;
    var item = element("li", "message " + message.role + (message.kind ? " " + message.kind : ""));
    if (message.role === "user") {
      var said = element("p", "bubble");
      said.append(element("span", "sr-only", this.text("you") + ": "), message.text);
      item.appendChild(said);
      if (message.pending !== undefined) item.appendChild(element("p", "pending", this.text("notSent")));
      else item.appendChild(timestamp(message.time));
    } else {
      var bubble = element("div", "bubble");
      bubble.appendChild(element("span", "sr-only", this.title + ": "));
      message.parts.forEach(function (part) { appendMarkdown(bubble, part); });
      (message.images || []).forEach(function (image) {
        var picture = element("img", "image");
        picture.src = image.src;
        picture.alt = image.alt;
        picture.loading = "lazy";
        bubble.appendChild(picture);
      });
      if (this.renderCustom) {
        (message.custom || []).forEach(function (payload) {
          var shown = null;
          try { shown = self.renderCustom(payload); } catch (error) { console.error("KpoChat: renderCustom failed", error); }
          // A string is shown as text; a node the site built is the site's own.
          if (typeof shown === "string") shown = element("p", "text", shown);
          if (shown instanceof Node) bubble.appendChild(shown);
        });
      }
      item.hidden = bubble.childNodes.length === 1 && !message.buttons.length;
      item.appendChild(bubble);
      item.appendChild(timestamp(message.time));
      // Thumbs only for answers from the sources, once their last part (the source) is in.
      if (message.kind === "answer" && hasSource(message)) item.appendChild(this.renderFeedback(message));
      if (message.buttons.length) {
        var replies = element("div", "quick-replies");
        replies.setAttribute("role", "group");
        replies.setAttribute("aria-label", this.text("suggested"));
        message.buttons.forEach(function (button) {
          var choice = element("button", "quick-reply", button.title);
          choice.type = "button";
          choice.addEventListener("click", function () { self.ask(button.payload, button.title); });
          replies.appendChild(choice);
        });
        item.appendChild(replies);
      }
    }
    return item;
  };

  // "14:05", or with the day for an older message; nothing for a message stored without a time.
  function timestamp(time) {
    var node = element("time", "time");
    if (typeof time !== "number") return node;
    var date = new Date(time);
    var today = date.toDateString() === new Date().toDateString();
    node.dateTime = date.toISOString();
    node.textContent = today
      ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return node;
  }

  Widget.prototype.renderFeedback = function (message) {
    var self = this;
    var row = element("div", "feedback");
    var label = message.feedbackReply || this.text(message.rating ? "rated" : "helpful");
    row.appendChild(element("span", "feedback-label", label));
    [["up", this.text("up")], ["down", this.text("down")]].forEach(function (choice) {
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

  Widget.prototype.atEnd = function () {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 24;
  };

  Widget.prototype.updateMore = function () {
    this.more.hidden = this.panel.hidden || this.atEnd();
  };

  Widget.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
    this.updateMore();
  };

  // Scrolls to the end, but never past the start of a long answer: it is read from the top.
  Widget.prototype.reveal = function (item) {
    var question = item.previousElementSibling;
    var anchor = question && question.classList.contains("user") ? question : item;
    var offset = anchor.getBoundingClientRect().top - this.log.getBoundingClientRect().top - 12;
    this.log.scrollTop = Math.min(this.log.scrollHeight, this.log.scrollTop + Math.max(0, offset));
    var end = this.log.scrollHeight - this.log.clientHeight;
    if (this.log.scrollTop > end) this.log.scrollTop = end;
    this.updateMore();
  };

  var instance = null;

  function widget() {
    if (!instance) throw new Error("KpoChat: call KpoChat.init() first (or leave data-autoinit on)");
    return instance;
  }

  // The site's handle on the chat. Methods return KpoChat, so calls chain.
  window.KpoChat = {
    init: function (options) {
      if (!instance) instance = new Widget(options || {});
      return window.KpoChat;
    },
    open: function () { widget().open(true); return window.KpoChat; },
    close: function () { widget().close(false); return window.KpoChat; },
    toggle: function () {
      if (widget().panel.hidden) widget().open(true); else widget().close(false);
      return window.KpoChat;
    },
    // Asks a question as if the user had typed it (and shows it).
    send: function (text) {
      text = String(text).trim();
      if (!text || text.length > MAX_LENGTH) throw new Error("KpoChat.send: 1 to " + MAX_LENGTH + " characters");
      widget().ask(text, text);
      return window.KpoChat;
    },
    clear: function () { widget().clear(); return window.KpoChat; },
    on: function (event, listener) {
      if (!widget().listeners[event]) throw new Error("KpoChat.on: no event '" + event + "'");
      widget().listeners[event].push(listener);
      return window.KpoChat;
    },
    off: function (event, listener) {
      var listeners = widget().listeners[event] || [];
      if (listeners.indexOf(listener) >= 0) listeners.splice(listeners.indexOf(listener), 1);
      return window.KpoChat;
    },
  };

  if (SCRIPT && SCRIPT.dataset.autoinit !== "false") {
    var start = function () {
      var strings = null;
      try { strings = JSON.parse(SCRIPT.dataset.strings || "null"); } catch (error) { console.error("KpoChat: data-strings is not JSON", error); }
      window.KpoChat.init({
        serverUrl: SCRIPT.dataset.serverUrl,
        title: SCRIPT.dataset.title,
        initPayload: SCRIPT.dataset.initPayload,
        strings: strings,
        lang: SCRIPT.dataset.lang,
        theme: SCRIPT.dataset.theme,
        position: SCRIPT.dataset.position,
        brandColor: SCRIPT.dataset.brandColor,
      });
    };
    if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
  }
})();
