/* msgops web chat: talks to Rasa's socketio channel (credentials.yml: user_uttered /
 * bot_uttered, session_persistence: true). Protocol, storage keys and state hooks are
 * described in docs/webchat.md. No framework, no build step; the socket.io client is
 * vendored in vendor/socket.io-client/. */
(function () {
  "use strict";

  var CONFIG = window.MSGOPS_WEBCHAT || {};
  var KEY_SESSION = "msgops.webchat.session";
  var KEY_LANG = "msgops.webchat.lang";
  var HISTORY_PREFIX = "msgops.webchat.history.";
  var MAX_HISTORY = 300;
  var TYPING_TIMEOUT_MS = 30000;
  var RESTORED_VISIBLE_MS = 3000;

  var TEXT = {
    ru: {
      pageTitle: "Чат с помощником",
      title: "Чат с помощником",
      newChat: "Новый чат",
      newChatLabel: "Начать новый разговор",
      langToggle: "EN",
      langToggleLabel: "Switch to English",
      messages: "Сообщения",
      empty: "Напишите нам — бот ответит сразу.",
      typing: "Бот печатает…",
      inputLabel: "Сообщение",
      placeholder: "Напишите сообщение…",
      send: "Отправить",
      connecting: "Подключение…",
      unreachable: "Не удаётся подключиться. Пробуем ещё…",
      lost: "Связь потеряна. Переподключаемся…",
      restored: "Связь восстановлена",
      you: "Вы: ",
      bot: "Бот: ",
      choices: "Варианты ответа",
      image: "Изображение от бота",
      opensNewTab: " (откроется в новой вкладке)"
    },
    en: {
      pageTitle: "Chat with our assistant",
      title: "Chat with our assistant",
      newChat: "New chat",
      newChatLabel: "Start a new conversation",
      langToggle: "RU",
      langToggleLabel: "Переключить на русский",
      messages: "Messages",
      empty: "Write to us and the bot answers right away.",
      typing: "Bot is typing…",
      inputLabel: "Message",
      placeholder: "Type a message…",
      send: "Send",
      connecting: "Connecting…",
      unreachable: "Can't connect. Retrying…",
      lost: "Connection lost. Reconnecting…",
      restored: "Connection restored",
      you: "You: ",
      bot: "Bot: ",
      choices: "Reply options",
      image: "Image from the bot",
      opensNewTab: " (opens in a new tab)"
    }
  };

  // ---- storage (falls back to memory where localStorage is unavailable) ----------------
  var memory = {};
  var store = {
    get: function (key) {
      try { return window.localStorage.getItem(key); } catch (e) { return memory[key] || null; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, value); return true; } catch (e) { memory[key] = value; return false; }
    },
    remove: function (key) {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
      delete memory[key];
    }
  };

  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function pickLanguage() {
    var saved = store.get(KEY_LANG);
    if (saved === "ru" || saved === "en") return saved;
    var wanted = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return /^ru\b/i.test(wanted) ? "ru" : "en";
  }

  // ---- state ----------------------------------------------------------------------------
  var lang = pickLanguage();
  var sessionId = store.get(KEY_SESSION);
  if (!sessionId) {
    sessionId = newSessionId();
    store.set(KEY_SESSION, sessionId);
  }
  var history = loadHistory(sessionId);
  var socket = null;
  var ready = false;           // session_confirm received on the current connection
  var everConnected = false;
  var statusKey = "connecting";
  var statusTimer = null;
  var typingTimer = null;
  var awaiting = 0;            // messages sent whose turn Rasa has not finished yet
  var nodes = new WeakMap();   // history entry -> its bubble (kept out of the stored JSON)

  var root = document.documentElement;
  var log = document.getElementById("log");
  var empty = document.getElementById("empty");
  var typing = document.getElementById("typing");
  var connection = document.getElementById("connection");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var langToggle = document.getElementById("lang-toggle");
  var newChat = document.getElementById("new-chat");

  function t(key) { return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key; }

  // ---- history --------------------------------------------------------------------------
  function historyKey(id) { return HISTORY_PREFIX + id; }

  function loadHistory(id) {
    try {
      var parsed = JSON.parse(store.get(historyKey(id)) || "[]");
      return Array.isArray(parsed) ? parsed.filter(function (e) { return e && typeof e === "object"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function saveHistory() {
    if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);
    var value = JSON.stringify(history);
    while (!store.set(historyKey(sessionId), value) && history.length > 10) {
      history.splice(0, Math.ceil(history.length / 2));   // quota exceeded: keep the newest
      value = JSON.stringify(history);
    }
  }

  // ---- rendering ------------------------------------------------------------------------
  function safeUrl(url, allowDataImage) {
    if (typeof url !== "string") return null;
    if (allowDataImage && /^data:image\//i.test(url)) return url;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function speaker(key) {
    var span = document.createElement("span");
    span.className = "visually-hidden";
    span.setAttribute("data-i18n", key);
    span.textContent = t(key);
    return span;
  }

  function textNode(className, text) {
    var div = document.createElement("div");
    div.className = className;
    div.textContent = text;       // never HTML; CSS keeps the line breaks
    return div;
  }

  function renderEntry(entry) {
    empty.hidden = true;
    var bubble = document.createElement("div");
    bubble.className = "msg msg--" + (entry.from === "user" ? "user" : "bot") + (entry.pending ? " msg--pending" : "");
    bubble.appendChild(speaker(entry.from === "user" ? "you" : "bot"));
    var image = safeUrl(entry.image, true);
    if (image) {
      var img = document.createElement("img");
      img.className = "msg__image";
      img.src = image;
      img.alt = entry.title || t("image");
      img.loading = "lazy";
      bubble.appendChild(img);
    }
    if (entry.title) bubble.appendChild(textNode("msg__card-title", entry.title));
    if (entry.subtitle) bubble.appendChild(textNode("msg__card-subtitle", entry.subtitle));
    if (entry.text) bubble.appendChild(textNode("msg__text", entry.text));
    nodes.set(entry, bubble);
    log.appendChild(bubble);
    if (entry.buttons && entry.buttons.length) log.appendChild(renderChoices(entry));
  }

  function renderChoices(entry) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("data-i18n-aria", "choices");
    group.setAttribute("aria-label", t("choices"));
    entry.buttons.forEach(function (choice, i) {
      var link = choice.url && safeUrl(choice.url, false);
      if (link) {
        var a = document.createElement("a");
        a.className = "choices__button";
        a.href = link;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = choice.title;
        a.appendChild(speaker("opensNewTab"));
        group.appendChild(a);
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "choices__button";
      button.textContent = choice.title;
      if (entry.chosen !== undefined) {
        button.disabled = true;
        button.setAttribute("aria-pressed", entry.chosen === i ? "true" : "false");
      }
      button.addEventListener("click", function (event) {
        choose(entry, i, group);
        // keyboard users go on typing; a tap must not pop up the phone's keyboard
        if (event.detail === 0) input.focus();
      });
      group.appendChild(button);
    });
    return group;
  }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  function append(entry) {
    history.push(entry);
    renderEntry(entry);
    saveHistory();
    scrollToEnd();
  }

  // ---- bot messages (Rasa's SocketIOOutput shapes) ----------------------------------
  function normaliseButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons.filter(function (b) { return b && (b.title || b.payload || b.url); }).map(function (b) {
      var title = String(b.title || b.payload || b.url);
      return b.url && !b.payload ? { title: title, url: String(b.url) } : { title: title, payload: String(b.payload || b.title) };
    });
  }

  function botEntries(data) {
    if (data === null || data === undefined) return [];
    if (typeof data === "string") return [{ from: "bot", text: data }];
    var out = [];
    var entry = { from: "bot" };
    if (typeof data.text === "string" && data.text.trim()) entry.text = data.text;
    var buttons = normaliseButtons(data.quick_replies && data.quick_replies.length ? data.quick_replies : data.buttons);
    if (buttons.length) entry.buttons = buttons;
    var attachment = data.attachment;
    if (typeof data.image === "string") entry.image = data.image;
    if (attachment && attachment.type === "image" && attachment.payload) {
      entry.image = attachment.payload.src || attachment.payload.url;
    }
    if (entry.text || entry.image || entry.buttons) out.push(entry);
    if (attachment && attachment.type === "template" && attachment.payload && attachment.payload.elements) {
      var elements = attachment.payload.elements;
      (Array.isArray(elements) ? elements : [elements]).forEach(function (el) {
        if (!el) return;
        var card = { from: "bot", title: el.title ? String(el.title) : undefined,
                     subtitle: el.subtitle ? String(el.subtitle) : undefined, image: el.image_url };
        var cardButtons = normaliseButtons(el.buttons);
        if (cardButtons.length) card.buttons = cardButtons;
        if (card.title || card.subtitle || card.image || card.buttons) out.push(card);
      });
    }
    if (!out.length && window.console) console.info("msgops webchat: nothing to show in", data);
    return out;
  }

  // ---- sending ----------------------------------------------------------------------------
  function sendUser(shown, message) {
    var entry = { from: "user", text: shown, pending: true };
    if (message !== shown) entry.send = message;
    append(entry);
    flush();
  }

  function flush() {
    if (!ready || !socket || !socket.connected) return;
    var sent = false;
    history.forEach(function (entry) {
      if (!entry.pending) return;
      awaiting += 1;
      // Rasa acknowledges when it has handled the whole turn (all its answers are out)
      socket.emit("user_uttered", {
        message: entry.send !== undefined ? entry.send : entry.text,
        session_id: sessionId,
        metadata: { language: lang }
      }, turnDone);
      delete entry.pending;
      delete entry.send;
      if (nodes.has(entry)) nodes.get(entry).classList.remove("msg--pending");
      sent = true;
    });
    if (sent) {
      saveHistory();
      showTyping();
      root.setAttribute("data-awaiting", String(awaiting));
    }
  }

  function turnDone() {
    awaiting = Math.max(0, awaiting - 1);
    root.setAttribute("data-awaiting", String(awaiting));
    if (!awaiting) hideTyping();
  }

  function choose(entry, index, group) {
    if (entry.chosen !== undefined) return;
    var choice = entry.buttons[index];
    entry.chosen = index;
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (button, i) {
      button.disabled = true;
      button.setAttribute("aria-pressed", i === index ? "true" : "false");
    });
    sendUser(choice.title, choice.payload);
  }

  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  // ---- connection status --------------------------------------------------------------------
  function setStatus(key, state) {
    clearTimeout(statusTimer);
    statusKey = key;
    connection.setAttribute("data-state", state);
    connection.textContent = key ? t(key) : "";
    root.setAttribute("data-connection", state);
    if (state === "restored") {
      statusTimer = setTimeout(function () { setStatus("", "online"); }, RESTORED_VISIBLE_MS);
    }
  }

  function connect() {
    if (typeof window.io !== "function") {
      setStatus("unreachable", "lost");
      return;
    }
    var url = CONFIG.rasaUrl || window.location.origin;
    socket = window.io(url, { path: CONFIG.socketPath || "/socket.io" });

    socket.on("connect", function () {
      ready = false;
      socket.emit("session_request", { session_id: sessionId });
      setStatus(everConnected ? "restored" : "", everConnected ? "restored" : "online");
      everConnected = true;
    });

    socket.on("session_confirm", function (data) {
      var confirmed = typeof data === "string" ? data : data && data.session_id;
      if (confirmed && confirmed !== sessionId) {   // the server chose: follow it
        store.remove(historyKey(sessionId));
        sessionId = confirmed;
        store.set(KEY_SESSION, sessionId);
        saveHistory();
      }
      ready = true;
      root.setAttribute("data-session", sessionId);
      root.setAttribute("data-ready", "true");
      flush();
    });

    socket.on("bot_uttered", function (data) {
      botEntries(data).forEach(append);
      if (!awaiting) hideTyping();   // e.g. a follow-up the bot sends on its own
    });

    socket.on("disconnect", function (reason) {
      ready = false;
      awaiting = 0;                   // acknowledgements of this connection are lost
      root.setAttribute("data-ready", "false");
      root.setAttribute("data-awaiting", "0");
      hideTyping();
      if (reason === "io client disconnect") return;           // we asked for it (new chat)
      setStatus("lost", "lost");
      if (reason === "io server disconnect") socket.connect();  // not retried by the client
    });

    socket.on("connect_error", function () {
      setStatus(everConnected ? "lost" : "unreachable", "lost");
    });
  }

  // ---- language -----------------------------------------------------------------------------
  function applyLanguage() {
    root.lang = lang;
    document.title = t("pageTitle");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-placeholder]"), function (el) {
      el.setAttribute("placeholder", t(el.getAttribute("data-i18n-placeholder")));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-aria]"), function (el) {
      el.setAttribute("aria-label", t(el.getAttribute("data-i18n-aria")));
    });
    Array.prototype.forEach.call(log.querySelectorAll(".msg__image"), function (img) {
      if (!img.parentNode.querySelector(".msg__card-title")) img.alt = t("image");
    });
    langToggle.setAttribute("lang", lang === "ru" ? "en" : "ru");
    connection.textContent = statusKey ? t(statusKey) : "";
  }

  // ---- wiring -------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendUser(text, text);
  });

  langToggle.addEventListener("click", function () {
    lang = lang === "ru" ? "en" : "ru";
    store.set(KEY_LANG, lang);
    applyLanguage();
  });

  newChat.addEventListener("click", function () {
    store.remove(historyKey(sessionId));
    sessionId = newSessionId();
    store.set(KEY_SESSION, sessionId);
    history = [];
    Array.prototype.slice.call(log.querySelectorAll(".msg, .choices")).forEach(function (n) { n.remove(); });
    empty.hidden = false;
    hideTyping();
    if (socket) {
      ready = false;
      socket.disconnect();
      socket.connect();        // "connect" sends session_request with the new id
    }
    input.focus();
  });

  // restore the conversation of this session, then go live
  applyLanguage();
  log.setAttribute("aria-busy", "true");
  history.forEach(renderEntry);
  log.setAttribute("aria-busy", "false");
  scrollToEnd();
  root.setAttribute("data-session", sessionId);
  root.setAttribute("data-history", String(history.length));
  connect();
})();
